import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from linli.visitors import services


@dataclass
class Clock:
    """The services' clock, moved by hand (`services.clock` is patched to read it)."""

    at: dt.datetime

    def advance(self, **delta) -> dt.datetime:
        self.at += dt.timedelta(**delta)
        return self.at


@pytest.fixture
def clock(monkeypatch):
    c = Clock(timezone.now().replace(microsecond=0))
    monkeypatch.setattr(services, "clock", lambda: c.at)
    return c


def invite(district, *, side="a", start_in=dt.timedelta(0), hours=4, actor=None, **extra):
    s = getattr(district, side)
    now = services.clock()
    fields = {"visitor_name": "王小明", "visitor_phone": "13600136000", "starts_at": now + start_in,
              "ends_at": now + start_in + dt.timedelta(hours=hours), **extra}
    return services.invite(actor=actor or s.users["resident"], house=s.house, **fields)
