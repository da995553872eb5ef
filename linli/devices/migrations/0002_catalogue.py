from django.db import migrations


def install(apps, schema_editor):
    from linli.devices.catalogue import install as install_catalogue

    install_catalogue(apps.get_model("devices", "DeviceType"))


class Migration(migrations.Migration):
    dependencies = [("devices", "0001_initial")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
