import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from linli.parcels import services


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


@pytest.fixture
def guard(district):
    return district.a.users["guard"]


@pytest.fixture
def parcel(district, guard):
    return services.register_parcel(actor=guard, house=district.a.house, courier="顺丰", tracking_no="SF1234567890",
                                    position="A-03")
