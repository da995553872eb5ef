from django.db import migrations


def install(apps, schema_editor):
    # Elevator controllers drive the car's voice announcer: `play_message` joins their capabilities.
    from linli.devices.catalogue import install as install_catalogue

    install_catalogue(apps.get_model("devices", "DeviceType"))


class Migration(migrations.Migration):
    dependencies = [("devices", "0003_outages_and_commands")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
