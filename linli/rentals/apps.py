"""Rentals (租赁): listings, tenancy registration into the real population, and the police export."""
from django.apps import AppConfig


class RentalsConfig(AppConfig):
    name = "linli.rentals"
    label = "rentals"
    verbose_name = "Rentals"
