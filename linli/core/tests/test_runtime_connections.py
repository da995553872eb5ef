"""The gateway keeps its threads' database connections: no reconnect on the path of an event."""

import threading

import pytest
from django.db import close_old_connections, connection, connections

from linli.core.runtime import keep_connections


@pytest.mark.django_db(transaction=True)
def test_kept_connections_survive_the_per_batch_check(monkeypatch):
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)  # obsolete at once

    def connection_after_check() -> tuple[object, object]:
        seen = {}

        def work():
            connection.ensure_connection()
            before = connection.connection
            close_old_connections()  # what each writer batch does first
            seen["before"], seen["after"] = before, connection.connection
            connections.close_all()

        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        return seen["before"], seen["after"]

    before, after = connection_after_check()
    assert after is None  # age 0: the check dropped it, the next batch would reconnect
    keep_connections()
    before, after = connection_after_check()
    assert after is before and after is not None
