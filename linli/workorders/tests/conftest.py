import pytest

from linli.billing.testing import ledger_balances  # noqa: F401  (autouse: the ledger balances after every test)
from linli.workorders import sla
from linli.workorders.tests.factories import start_clock


@pytest.fixture
def clock(monkeypatch):
    c = start_clock()
    monkeypatch.setattr(sla, "now", lambda: c.at)
    return c
