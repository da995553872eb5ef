"""Wake-ups across processes: heard on commit, never for a rollback, nothing on SQLite."""

from __future__ import annotations

import asyncio
import threading

import pytest
from django.db import connection, transaction

from linli.core import wakeup


def _listen_while(action, names=("dispatch", "commands"), settle_s: float = 0.5, wait_s: float = 2.0) -> list[str]:
    """Run `action` (in a thread, with the ORM) while a listener is running; what it heard."""
    heard: list[str] = []

    async def main() -> None:
        stop = await wakeup.listen({name: (lambda name=name: heard.append(name)) for name in names})
        assert stop is not None
        await asyncio.sleep(settle_s)  # LISTEN is in place
        done = threading.Event()

        def run() -> None:
            try:
                action()
            finally:
                connection.close()
                done.set()

        threading.Thread(target=run).start()
        await asyncio.to_thread(done.wait, 10)
        await asyncio.sleep(wait_s)
        await stop()

    asyncio.run(main())
    return heard


@pytest.mark.django_db(transaction=True)
def test_a_committed_announcement_wakes_the_listener_of_that_name_only():
    if connection.vendor != "postgresql":
        pytest.skip("wake-ups cross processes on PostgreSQL only (the SQLite pass checks the no-op)")

    def commit() -> None:
        with transaction.atomic():
            wakeup.announce("dispatch")

    assert _listen_while(commit) == ["dispatch"]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_announcement_wakes_nobody():
    if connection.vendor != "postgresql":
        pytest.skip("wake-ups cross processes on PostgreSQL only (the SQLite pass checks the no-op)")

    def roll_back() -> None:
        with pytest.raises(RuntimeError), transaction.atomic():
            wakeup.announce("dispatch")
            raise RuntimeError("undone")

    assert _listen_while(roll_back) == []


@pytest.mark.django_db
def test_on_sqlite_there_is_no_listener_and_announcing_touches_nothing(django_assert_num_queries):
    if connection.vendor == "postgresql":
        pytest.skip("the PostgreSQL pass checks the real wake-ups")
    with django_assert_num_queries(0):
        wakeup.announce("dispatch")
    assert asyncio.run(wakeup.listen({"dispatch": lambda: None})) is None
    assert not wakeup.crosses_processes()
