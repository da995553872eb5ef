"""A resident reports a repair from their phone with photos, follows it, rates it and reopens it;
nobody else's report is in reach."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.test import Client

from linli.core.testing import ID_NUMBERS, PHONES

RESIDENT_BACKEND = "linli.accounts.backends.ResidentCodeBackend"
STAFF_BACKEND = "linli.accounts.backends.StaffPasswordBackend"


def jpeg(color: str = "steelblue", size: tuple[int, int] = (64, 48)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="JPEG")
    return out.getvalue()


def upload(name: str = "pipe.jpg", content: bytes | None = None):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content if content is not None else jpeg(), content_type="image/jpeg")


def plumbing(side, *, dispatch_mode: str = "grab", paid: bool = False, code: str = "plumbing", name: str = "水管维修"):
    from linli.workorders import services

    return services.create_category(actor=side.users["property_manager"], compound=side.compound, code=code,
                                    kind="repair", name=name, deadline_minutes=240, warning_minutes=60,
                                    dispatch_mode=dispatch_mode, paid=paid)


def resident_client(user) -> Client:
    client = Client()
    client.force_login(user, backend=RESIDENT_BACKEND)
    return client


def staff_client(user) -> Client:
    client = Client()
    client.force_login(user, backend=STAFF_BACKEND)
    return client


def neighbour(side):
    """A resident of the same compound in the other house, with their own portal account."""
    from linli.accounts import services as accounts
    from linli.people import services as people

    admin = side.users["property_manager"]
    person = people.create_person(actor=admin, compound=side.compound, name="邻居", id_type="mainland_id",
                                  id_number=ID_NUMBERS["a_neighbour"], phone=PHONES["a_neighbour"])
    people.add_residency(actor=admin, person=person, house=side.other_house, role="owner", since=dt.date(2020, 1, 1))
    return accounts.create_resident_account(actor=admin, person=person)


def report(side, category, *, title: str = "厨房水管漏水", photos: tuple[str, ...] = ()):
    from linli.workorders import services

    return services.submit(actor=side.users["resident"], compound=side.compound, category=category, title=title,
                           description=title, house=side.house, photos=list(photos))


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.django_db
def test_a_resident_reports_a_leak_with_two_photos_and_the_order_shows_them(district):
    from linli.workorders.models import Channel, WorkOrder

    a = district.a
    category = plumbing(a)
    client = resident_client(a.users["resident"])
    form = client.get("/m/repairs/new/")
    assert form.status_code == 200
    html = form.content.decode()
    assert 'capture="environment"' in html and 'accept="image/*"' in html and "multiple" in html
    assert "水管维修" in html and a.house.number in html

    answer = client.post("/m/repairs/new/", {"house": a.house.pk, "category": category.pk,
                                             "description": "厨房水管漏水\n水一直滴到楼下",
                                             "photos": [upload("a.jpg"), upload("b.jpg", jpeg("red"))]})
    order = WorkOrder.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"/m/repairs/{order.pk}/"
    assert order.title == "厨房水管漏水" and order.channel == Channel.PORTAL and order.house_id == a.house.pk
    assert len(order.report_photos) == 2 and all(r.startswith(f"workorders/{a.compound.pk}/")
                                                 for r in order.report_photos)

    page = client.get(answer["Location"]).content.decode()
    assert "已提交" in page and f"/m/repairs/{order.pk}/photos/report/1/" in page
    photo = client.get(f"/m/repairs/{order.pk}/photos/report/0/")
    assert photo.status_code == 200 and photo["Content-Type"] == "image/jpeg"
    assert photo.content[:2] == b"\xff\xd8"
    assert client.get(f"/m/repairs/{order.pk}/photos/report/2/").status_code == 404
    assert client.get(f"/m/repairs/{order.pk}/photos/other/0/").status_code == 404


@pytest.mark.django_db
def test_an_empty_contact_phone_means_the_accounts_phone_and_no_clear_phone_reaches_the_page(district):
    from linli.workorders.models import WorkOrder

    a = district.a
    category = plumbing(a)
    client = resident_client(a.users["resident"])
    form = client.get("/m/repairs/new/").content.decode()
    assert PHONES["a_owner"] not in form and "138****8001" in form
    client.post("/m/repairs/new/", {"house": a.house.pk, "category": category.pk, "description": "门锁坏了",
                                    "contact_phone": ""})
    order = WorkOrder.objects.get()
    assert order.contact_phone_plain() == PHONES["a_owner"]
    assert PHONES["a_owner"] not in client.get(f"/m/repairs/{order.pk}/").content.decode()

    client.post("/m/repairs/new/", {"house": a.house.pk, "category": category.pk, "description": "楼道灯坏了",
                                    "contact_phone": "13612345678"})
    assert WorkOrder.objects.order_by("-id").first().contact_phone_masked == "136****5678"


@pytest.mark.django_db
def test_a_report_that_is_not_a_photo_or_has_ten_photos_is_refused_and_files_nothing(district, settings):
    from linli.workorders.models import WorkOrder

    a = district.a
    category = plumbing(a)
    client = resident_client(a.users["resident"])
    fields = {"house": a.house.pk, "category": category.pk, "description": "厨房水管漏水"}
    not_a_photo = client.post("/m/repairs/new/", {**fields, "photos": [upload("ok.jpg"),
                                                                        upload("x.jpg", b"MZ not a picture")]})
    assert not_a_photo.status_code == 400 and "只能上传JPEG、PNG或WebP格式的照片" in not_a_photo.content.decode()
    # The good photo stored before the bad one was refused is gone again: nothing refers to it.
    assert not [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()]
    too_many = client.post("/m/repairs/new/", {**fields, "photos": [upload(f"{i}.jpg") for i in range(10)]})
    assert too_many.status_code == 400 and "照片不能超过9张" in too_many.content.decode()
    no_text = client.post("/m/repairs/new/", {**fields, "description": ""})
    assert no_text.status_code == 400
    assert not WorkOrder.objects.exists()


@pytest.mark.django_db
def test_a_resident_cannot_report_for_a_house_or_category_that_is_not_theirs(district):
    from linli.workorders.models import WorkOrder

    a, b = district.a, district.b
    mine, theirs = plumbing(a), plumbing(b)
    client = resident_client(a.users["resident"])
    form = client.get("/m/repairs/new/").content.decode()
    assert a.other_house.number not in form.split('id="id_house"')[1].split("</select>")[0]
    assert client.post("/m/repairs/new/", {"house": a.other_house.pk, "category": mine.pk,
                                           "description": "漏水"}).status_code == 400
    assert client.post("/m/repairs/new/", {"house": a.house.pk, "category": theirs.pk,
                                           "description": "漏水"}).status_code == 400
    assert not WorkOrder.objects.exists()


@pytest.mark.django_db
def test_a_neighbours_order_and_its_photos_are_not_found(district):
    from linli.workorders.photos import store_photo

    a = district.a
    category = plumbing(a)
    ref = store_photo(actor=a.users["resident"], compound_id=a.compound.pk, content=jpeg())
    order = report(a, category, photos=(ref,))
    other = resident_client(neighbour(a))
    assert other.get(f"/m/repairs/{order.pk}/").status_code == 404
    assert other.get(f"/m/repairs/{order.pk}/photos/report/0/").status_code == 404
    assert other.post(f"/m/repairs/{order.pk}/rate/", {"rating": 1}).status_code == 404
    assert other.post(f"/m/repairs/{order.pk}/reopen/", {"reason": "x"}).status_code == 404
    assert "厨房水管漏水" not in other.get("/m/repairs/").content.decode()
    assert resident_client(district.b.users["resident"]).get(f"/m/repairs/{order.pk}/").status_code == 404


@pytest.mark.django_db
def test_a_done_order_is_rated_once_and_can_be_reopened_within_the_window(district):
    from linli.workorders import services
    from linli.workorders.models import Status

    a = district.a
    category = plumbing(a, dispatch_mode="assign")
    order = report(a, category)
    client = resident_client(a.users["resident"])
    assert "rate-form" not in client.get(f"/m/repairs/{order.pk}/").content.decode()
    early = client.post(f"/m/repairs/{order.pk}/rate/", {"rating": 5})
    assert early.status_code == 302
    order.refresh_from_db()
    assert order.rating is None

    manager, tech = a.users["property_manager"], a.users["technician"]
    services.accept(actor=manager, order=order)
    services.assign(actor=manager, order=order, assignee=tech)
    services.start(actor=tech, order=order)
    services.complete(actor=tech, order=order, note="换了阀门")
    page = client.get(f"/m/repairs/{order.pk}/").content.decode()
    assert "已完成" in page and "rate-form" in page and "换了阀门" in page and 'id="reopen"' in page

    assert client.post(f"/m/repairs/{order.pk}/rate/", {"rating": "9"}).status_code == 302
    order.refresh_from_db()
    assert order.rating is None
    client.post(f"/m/repairs/{order.pk}/rate/", {"rating": "4", "comment": "师傅很准时"})
    order.refresh_from_db()
    assert (order.status, order.rating, order.rating_comment) == (Status.VISITED, 4, "师傅很准时")
    assert "rate-form" not in client.get(f"/m/repairs/{order.pk}/").content.decode()

    client.post(f"/m/repairs/{order.pk}/reopen/", {"reason": "又漏了"})
    order.refresh_from_db()
    assert order.status == Status.ACCEPTED and order.reopen_count == 1


@pytest.mark.django_db
def test_reopening_after_the_window_is_not_offered_and_is_refused(district):
    from linli.workorders import services
    from linli.workorders.models import Status, WorkOrder

    a = district.a
    category = plumbing(a, dispatch_mode="assign")
    order = report(a, category)
    manager, tech = a.users["property_manager"], a.users["technician"]
    services.accept(actor=manager, order=order)
    services.assign(actor=manager, order=order, assignee=tech)
    services.start(actor=tech, order=order)
    done = services.complete(actor=tech, order=order)
    WorkOrder.objects.filter(pk=order.pk).update(done_at=done.done_at - dt.timedelta(days=30))
    client = resident_client(a.users["resident"])
    assert 'id="reopen"' not in client.get(f"/m/repairs/{order.pk}/").content.decode()
    answer = client.post(f"/m/repairs/{order.pk}/reopen/", {"reason": "又漏了"}, follow=True)
    assert "已超过可重新打开的期限" in answer.content.decode()
    order.refresh_from_db()
    assert order.status == Status.DONE


@pytest.mark.django_db
def test_the_list_shows_my_reports_with_their_state_in_a_fixed_number_of_queries(district,
                                                                                django_assert_max_num_queries):
    a = district.a
    category = plumbing(a)
    for i in range(6):
        report(a, category, title=f"报修{i}")
    client = resident_client(a.users["resident"])
    with django_assert_max_num_queries(12):
        page = client.get("/m/repairs/")
    html = page.content.decode()
    assert page.status_code == 200 and html.count("/m/repairs/") >= 7 and "已提交" in html and "时限" in html


@pytest.mark.django_db
def test_staff_and_strangers_are_sent_to_log_in(district):
    anonymous = Client().get("/m/repairs/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/m/login/")
    staff = staff_client(district.a.users["technician"]).get("/m/repairs/new/")
    assert staff.status_code == 302 and staff["Location"].startswith("/m/login/")
