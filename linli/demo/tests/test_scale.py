"""Benchmark data (`linli demo --scale N`): same planners and writer, spread over streets and companies."""

from __future__ import annotations

from collections import Counter

import pytest

from linli.accounts.models import User
from linli.cli import main
from linli.core.audit import verify_chain
from linli.demo import scale
from linli.people.identity import validate_mainland_id
from linli.people.models import Person, Vehicle
from linli.people.plates import validate_plate
from linli.places.models import Compound, House, Region


def test_a_hundred_compounds_split_over_two_streets_and_three_property_companies():
    streets, companies, slots = scale.layout(100)
    assert (streets, companies, len(slots)) == (2, 3, 100)
    per_street = Counter(s.street for s in slots)
    per_company = Counter(s.company for s in slots)
    assert sorted(per_street.values()) == [50, 50]
    assert sorted(per_company.values()) == [33, 33, 34]
    # A property company's compounds cross the street line, as they do in real districts.
    assert len({s.street for s in slots if s.company == 1}) == 2
    assert max(s.community for s in slots) == 4


@pytest.mark.django_db
def test_linli_demo_scale_2_builds_two_full_compounds(capsys):
    main(["demo", "--scale", "2"])
    assert "Benchmark data loaded" in capsys.readouterr().out
    assert Compound.objects.count() == 2
    assert Region.objects.filter(level="street").count() == 2
    assert Compound.objects.values("property_company").distinct().count() == 2
    assert 800 <= House.objects.count() <= 1_200
    assert 2.3 <= Person.objects.count() / House.objects.count() <= 2.9
    assert all(validate_plate(p) == p for p in Vehicle.objects.values_list("plate", flat=True))
    assert all(validate_mainland_id(p.id_number_plain()) for p in Person.objects.all()[:200])
    assert User.objects.filter(username__in=["bench_street_1", "bench_street_2", "bench_pm_1", "bench_pm_2"]).count() == 4
    assert verify_chain().ok
