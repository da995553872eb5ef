from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "linli.exchange"
    label = "exchange"
    verbose_name = "Import and export"
