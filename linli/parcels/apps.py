from django.apps import AppConfig


class ParcelsConfig(AppConfig):
    name = "linli.parcels"
    label = "parcels"
    verbose_name = "Parcels"
