"""The inbox: a resident reads their own notifications, newest first; opening one marks it read."""

from linli.notify.models import Category, Delivery
from linli.notify.services import Audience, notify

RESIDENT_BACKEND = "linli.accounts.backends.ResidentCodeBackend"


def _tell(district, side, title, link=""):
    s = getattr(district, side)
    return notify(compound_id=s.compound.pk, audience=Audience(residents_of_house=s.house.pk), title=title,
                  body="请查看", category=Category.NOTICE, link=link)


def test_the_inbox_lists_only_my_messages_and_counts_the_unread(district, client, django_assert_max_num_queries):
    for n in range(5):
        _tell(district, "a", f"停水通知{n}")
    _tell(district, "b", "B小区通知")
    client.force_login(district.a.users["resident"], backend=RESIDENT_BACKEND)
    with django_assert_max_num_queries(10):
        page = client.get("/m/inbox/")
    text = page.content.decode()
    assert text.count('data-delivery="') == 5 and "B小区通知" not in text
    assert 'id="inbox-unread">5<' in client.get("/m/").content.decode()


def test_opening_a_message_marks_it_read_and_follows_only_local_links(district, client):
    _tell(district, "a", "账单已出", link="/m/votes/")
    _tell(district, "a", "外链", link="https://example.com/")
    client.force_login(district.a.users["resident"], backend=RESIDENT_BACKEND)
    local, outside = Delivery.objects.filter(recipient=district.a.users["resident"], channel="inbox").order_by("id")
    assert client.post(f"/m/inbox/{local.pk}/read/")["Location"] == "/m/votes/"
    assert client.post(f"/m/inbox/{outside.pk}/read/")["Location"] == "/m/inbox/"
    assert Delivery.objects.filter(pk__in=[local.pk, outside.pk], read_at__isnull=False).count() == 2


def test_nobody_marks_another_residents_message(district, client):
    _tell(district, "b", "B小区通知")
    theirs = Delivery.objects.get(recipient=district.b.users["resident"], channel="inbox")
    client.force_login(district.a.users["resident"], backend=RESIDENT_BACKEND)
    client.post(f"/m/inbox/{theirs.pk}/read/")
    client.post("/m/inbox/read-all/")
    assert Delivery.objects.get(pk=theirs.pk).read_at is None
