"""Notices (公告): scoped announcements with scheduling, read receipts and emergency broadcasts."""
from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "linli.notices"
    label = "notices"
    verbose_name = "Notices"
