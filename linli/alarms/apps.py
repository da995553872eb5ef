from django.apps import AppConfig


class AlarmsConfig(AppConfig):
    name = "linli.alarms"
    label = "alarms"
    verbose_name = "Alarms"

    def ready(self) -> None:
        from linli.alarms.selectors import alarm_evidence_refs, open_alarm_events
        from linli.events.retention import EVENT_HOLDS, MEDIA_HOLDS

        # An open alarm keeps its first event, and every alarm its evidence, past their retention.
        EVENT_HOLDS.register(open_alarm_events)
        MEDIA_HOLDS.register(alarm_evidence_refs)
