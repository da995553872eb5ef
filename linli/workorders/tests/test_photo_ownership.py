"""An uploaded photo belongs to whoever uploaded it: a resident attaches only their own uploads, so
another household's photo reference is answered like one never uploaded and nothing is attached;
staff attach any photo of a compound where they report or work orders."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.exceptions import ValidationError
from PIL import Image

from linli.accounts import services as accounts
from linli.core.testing import ID_NUMBERS, PHONES
from linli.core.tests.apiclient import ApiClient
from linli.events import media
from linli.people import services as people
from linli.workorders import photos, services
from linli.workorders.models import WorkOrder
from linli.workorders.tests.factories import category, leaking_pipe, technician

pytestmark = pytest.mark.django_db


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 20), "blue").save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def stored():
    refs: list[str] = []
    yield refs
    media.delete(refs)


def _neighbour(district):
    """A resident of the house next door: the same compound, another household."""
    a = district.a
    person = people.create_person(actor=district.admin, compound=a.compound, name="邻居", id_type="mainland_id",
                                  id_number=ID_NUMBERS["a_neighbour"], phone=PHONES["a_neighbour"])
    people.add_residency(actor=district.admin, person=person, house=a.other_house, role="owner",
                         since=dt.date(2020, 1, 1))
    return accounts.create_resident_account(actor=district.admin, person=person)


def _upload(user, compound_id) -> str:
    photo = io.BytesIO(_jpeg())
    photo.name = "p.jpg"
    answer = ApiClient(user).client.post("/api/workorders/photos", {"compound_id": compound_id, "file": photo})
    assert answer.status_code == 201, answer.content
    return answer.json()["ref"]


def test_a_resident_cannot_attach_a_neighbours_photo_and_it_answers_like_a_missing_one(district, stored):
    a = district.a
    neighbour = _neighbour(district)
    theirs = _upload(neighbour, a.compound.pk)
    stored.append(theirs)
    cat = category(district)
    resident = ApiClient(a.users["resident"])
    report = {"compound_id": a.compound.pk, "category_id": cat.pk, "title": "厨房漏水", "house_id": a.house.pk}
    gone = _upload(a.users["resident"], a.compound.pk)  # the resident's own, then removed from the store
    media.delete([gone])
    foreign = resident.post("/api/workorders", {**report, "photos": [theirs]})
    missing = resident.post("/api/workorders", {**report, "photos": [gone]})
    assert foreign.status_code == 422 and list(foreign.json()["error"]["fields"]) == ["photos"]
    assert foreign.json() == missing.json()
    assert not WorkOrder.objects.filter(title="厨房漏水").exists()
    with pytest.raises(ValidationError, match="照片尚未上传"):
        leaking_pipe(district, cat, photos=[theirs])
    mine = _upload(a.users["resident"], a.compound.pk)
    stored.append(mine)
    made = resident.post("/api/workorders", {**report, "photos": [mine]})
    assert made.status_code == 201 and made.json()["report_photos"] == [mine]
    assert resident.get(f"/api/workorders/{made.json()['id']}/photos/report/0").status_code == 200


def test_staff_complete_with_any_photo_of_their_compound_but_a_neighbour_reports_with_none_of_theirs(
        district, stored):
    a = district.a
    cat = category(district)
    order = leaking_pipe(district, cat)
    resident_photo = _upload(a.users["resident"], a.compound.pk)
    colleague_photo = photos.store_photo(actor=technician(district), compound_id=a.compound.pk, content=_jpeg())
    stored.extend([resident_photo, colleague_photo])
    tech = a.users["technician"]
    services.accept(actor=a.users["customer_service"], order=order)
    services.assign(actor=a.users["customer_service"], order=order, assignee=tech)
    services.start(actor=tech, order=order)
    done = services.complete(actor=tech, order=order, photos=[colleague_photo, resident_photo])
    assert done.photos == [colleague_photo, resident_photo]
    neighbour = _neighbour(district)
    for theirs in (resident_photo, colleague_photo):
        with pytest.raises(ValidationError, match="照片尚未上传"):
            services.submit(actor=neighbour, compound=a.compound, category=cat, title="漏水", house=a.other_house,
                            photos=[theirs])
    assert not WorkOrder.objects.filter(title="漏水").exists()


def test_a_legacy_reference_without_an_uploader_is_for_staff_only(district, stored):
    a = district.a
    legacy = f"{photos.prefix(a.compound.pk)}2024-01/{'ab' * 16}.jpg"
    media.save(legacy, _jpeg())
    stored.append(legacy)
    with pytest.raises(ValidationError, match="照片尚未上传"):
        leaking_pipe(district, category(district), photos=[legacy])
    order = services.submit(actor=a.users["customer_service"], compound=a.compound, category=category(
        district, code="other"), title="代报", house=a.house, photos=[legacy])
    assert order.report_photos == [legacy]
