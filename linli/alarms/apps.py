from django.apps import AppConfig


class AlarmsConfig(AppConfig):
    name = "linli.alarms"
    label = "alarms"
    verbose_name = "Alarms"
