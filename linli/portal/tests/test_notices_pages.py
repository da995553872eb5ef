"""Notices on the phone: a resident reads their compound's published notices, never drafts, role-only
notices or another compound's; opening one records the read and lowers the unread count."""

import re

from linli.notices.models import NoticeRead
from linli.notices.testing import hidden_from_residents, side_records

RESIDENT_BACKEND = "linli.accounts.backends.ResidentCodeBackend"


def test_the_list_shows_what_the_resident_may_read(district, client, django_assert_max_num_queries):
    notice = side_records(district.a)["notice"]
    side_records(district.b)
    client.force_login(district.a.users["resident"], backend=RESIDENT_BACKEND)
    with django_assert_max_num_queries(10):
        text = client.get("/m/notices/").content.decode()
    shown = {int(pk) for pk in re.findall(r'data-notice="(\d+)"', text)}
    assert shown == {notice.pk}
    assert not shown & hidden_from_residents(district.a)


def test_opening_a_notice_records_the_read_once_and_clears_the_badge(district, client):
    notice = side_records(district.a)["notice"]
    client.force_login(district.a.users["resident"], backend=RESIDENT_BACKEND)
    assert 'data-shortcut="notices">公告 <span class="badge">1</span>' in client.get("/m/").content.decode()
    for _ in range(2):
        assert notice.title in client.get(f"/m/notices/{notice.pk}/").content.decode()
    assert NoticeRead.objects.filter(notice=notice, reader=district.a.users["resident"]).count() == 1
    assert 'data-shortcut="notices">公告</a>' in client.get("/m/").content.decode()


def test_a_notice_of_another_compound_or_a_hidden_one_is_not_found(district, client):
    theirs = side_records(district.b)["notice"]
    side_records(district.a)
    client.force_login(district.a.users["resident"], backend=RESIDENT_BACKEND)
    for pk in [theirs.pk, *hidden_from_residents(district.a)]:
        assert client.get(f"/m/notices/{pk}/").status_code == 404
