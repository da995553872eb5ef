"""A refused request is one INFO line naming method, path and user id; a crash keeps its traceback."""

import logging

import pytest
from django.test import Client
from django.urls import path, reverse

from linli.core.tests.apiclient import ApiClient


def _crash(request):
    raise RuntimeError("the page fell over")


# This module is also the URL conf of the crash test: the site's pages, and one that always fails.
urlpatterns = [path("crash/", _crash)]


def _refusals(caplog):
    return [r for r in caplog.records if r.name == "linli.refusals"]


def _assert_one_quiet_refusal(caplog, method: str, url: str, user) -> None:
    refusals = _refusals(caplog)
    assert len(refusals) == 1, [r.getMessage() for r in caplog.records]
    line = refusals[0]
    assert line.levelno == logging.INFO
    assert line.getMessage() == f"refused {method} {url} user={user.pk}"
    assert user.username not in line.getMessage()
    noisy = [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING]
    assert noisy == []


def test_a_guard_opening_an_organisation_page_is_one_info_line_without_a_traceback(district, client_for, caplog):
    guard = district.a.users["guard"]
    url = reverse("web:organisation_detail", args=[district.a.company.pk])
    caplog.set_level(logging.INFO)
    assert client_for(guard).get(url).status_code == 403
    _assert_one_quiet_refusal(caplog, "GET", url, guard)


def test_a_guard_posting_an_edit_it_may_not_make_is_one_info_line(district, client_for, caplog):
    guard = district.a.users["guard"]
    url = reverse("web:person_edit", args=[district.a.owner.pk])
    caplog.set_level(logging.INFO)
    assert client_for(guard).post(url, {}).status_code == 403
    _assert_one_quiet_refusal(caplog, "POST", url, guard)


def test_an_api_operation_refused_to_a_technician_is_one_info_line(district, caplog):
    technician = district.a.users["technician"]
    api = ApiClient(technician)
    caplog.set_level(logging.INFO)
    response = api.post("/api/devices", {"compound_id": district.a.compound.pk,
                                         "device_type_id": district.a.device.device_type_id,
                                         "serial": "S-8", "name": "x"})
    assert response.status_code == 403
    _assert_one_quiet_refusal(caplog, "POST", "/api/devices", technician)


@pytest.mark.urls(__name__)
def test_a_crash_still_logs_its_traceback(db, caplog):
    caplog.set_level(logging.INFO)
    assert Client(raise_request_exception=False).get("/crash/").status_code == 500
    crashes = [r for r in caplog.records if r.levelno == logging.ERROR and r.exc_info]
    assert len(crashes) == 1 and crashes[0].exc_info[0] is RuntimeError
    assert _refusals(caplog) == []
