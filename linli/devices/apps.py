from django.apps import AppConfig


class DevicesConfig(AppConfig):
    name = "linli.devices"
    label = "devices"
    verbose_name = "Devices"

    def ready(self) -> None:
        from linli.devices.commands import apply_acks
        from linli.devices.health import after_store
        from linli.events.pipeline import AFTER_STORE

        # Health first: rules evaluated after it may read the device's fresh state.
        AFTER_STORE.register(after_store, order=10)
        AFTER_STORE.register(apply_acks, order=20)
