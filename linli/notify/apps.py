from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "linli.notify"
    label = "notify"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from linli.alarms.services import ON_CHANGE
        from linli.notify.feed import publish_alarm_change

        # The alarm board is live: every raise, repeat, move and escalation reaches the consoles.
        ON_CHANGE.register(publish_alarm_change)
