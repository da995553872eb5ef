"""The home page: the resident's households, shortcuts only to pages this deployment serves, unread counts."""

from django.urls import NoReverseMatch, reverse

from linli.portal.views.home import SHORTCUTS

RESIDENT_BACKEND = "linli.accounts.backends.ResidentCodeBackend"


def test_the_home_page_links_every_served_section_within_a_few_queries(district, client,
                                                                        django_assert_max_num_queries):
    client.force_login(district.a.users["resident"], backend=RESIDENT_BACKEND)
    with django_assert_max_num_queries(10):
        text = client.get("/m/").content.decode()
    for key, name, _label in SHORTCUTS:
        try:
            url = reverse(name)
        except NoReverseMatch:
            assert f'data-shortcut="{key}"' not in text
        else:
            assert f'href="{url}" data-shortcut="{key}"' in text


def test_a_resident_without_a_house_is_offered_to_bind_one(district, client):
    from linli.accounts import services as accounts
    from linli.people.models import Residency

    Residency.objects.filter(person=district.a.family).delete()
    family = accounts.create_resident_account(actor=district.admin, person=district.a.family)
    client.force_login(family, backend=RESIDENT_BACKEND)
    text = client.get("/m/").content.decode()
    assert "尚未绑定房屋" in text and 'href="/m/bind/"' in text
