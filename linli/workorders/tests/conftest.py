import pytest

from linli.workorders import sla
from linli.workorders.tests.factories import start_clock


@pytest.fixture
def clock(monkeypatch):
    c = start_clock()
    monkeypatch.setattr(sla, "now", lambda: c.at)
    return c
