from django.apps import AppConfig


class AutomationsConfig(AppConfig):
    name = "linli.automations"
    label = "automations"
    verbose_name = "Automations"

    def ready(self) -> None:
        from linli.automations.engine import evaluate_stored
        from linli.events.pipeline import AFTER_STORE

        AFTER_STORE.register(evaluate_stored, order=30)
