"""Device codes become safe broker names (linli/devices/codes.py), in the database too.

A code an older release let in that breaks the rule (the gateway's own name, above all) is
taken out of service first: the device gets the code `quarantined-<id>`, is disabled and its
credentials are revoked, so its secret can no longer log in as anyone (docs/mqtt.md).
"""

import logging

from django.db import migrations, models
from django.utils import timezone

import linli.devices.codes


def quarantine(apps, schema_editor):
    from linli.devices.codes import quarantine_unsafe_codes

    fixed = quarantine_unsafe_codes(apps.get_model("devices", "Device"), apps.get_model("devices", "DeviceCredential"),
                                    now=timezone.now())
    for pk, old, new in fixed:
        logging.getLogger("linli.devices").warning(
            "device %s: code %r is not a safe broker name; renamed %r, disabled, credentials revoked", pk, old, new)


class Migration(migrations.Migration):
    dependencies = [("devices", "0004_catalogue_lift_voice")]

    operations = [
        migrations.RunPython(quarantine, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="device",
            name="code",
            field=models.CharField(max_length=64, unique=True, validators=[linli.devices.codes.validate_device_code]),
        ),
        migrations.AddConstraint(
            model_name="device",
            constraint=models.CheckConstraint(
                condition=models.Q(("code__regex", "\\A[0-9a-z][0-9a-z_-]{0,63}\\Z"),
                                   models.Q(("code", "linli"), _negated=True),
                                   models.Q(("code__startswith", "linli-"), _negated=True),
                                   models.Q(("code__startswith", "linli_"), _negated=True)),
                name="device_code_allowed"),
        ),
    ]
