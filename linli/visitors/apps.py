from django.apps import AppConfig


class VisitorsConfig(AppConfig):
    name = "linli.visitors"
    label = "visitors"
    verbose_name = "Visitors"
