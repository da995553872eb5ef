"""Work orders (工单): repairs, complaints, suggestions and governance events, with deadlines,
dispatch, follow-up visits and ratings."""
from django.apps import AppConfig


class WorkordersConfig(AppConfig):
    name = "linli.workorders"
    label = "workorders"
    verbose_name = "Work orders"

    def ready(self) -> None:
        # A rule's `work_order` action files a real order from now on, instead of a stand-in alarm.
        from linli.automations.actions import WORK_ORDER_HANDLERS
        from linli.workorders.services import file_from_automation

        WORK_ORDER_HANDLERS.register(file_from_automation)
