from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _register_sqlite_functions(sender, connection, **kwargs):
    if connection.vendor == "sqlite":
        from linli.core.audit import audit_locked

        connection.connection.create_function("linli_audit_locked", 0, audit_locked, deterministic=False)


class CoreConfig(AppConfig):
    name = "linli.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        connection_created.connect(_register_sqlite_functions, dispatch_uid="linli-sqlite-functions")
