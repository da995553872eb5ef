"""No clear ID or phone number reaches any API response, console page, export or log line,
except the audited reveal and a person's own export.

We seed known values, then walk every GET operation in the OpenAPI schema and every
console page reachable by links, for every role, and scan what comes back.
"""

from __future__ import annotations

import logging
import re
from html.parser import HTMLParser
from io import BytesIO
from urllib.parse import urljoin, urlparse

import pytest
from django.test import Client

from linli.api import api
from linli.core.testing import ID_NUMBERS, PHONES
from linli.core.tests.apiclient import ApiClient
from linli.rentals.testing import TENANT_PHONES, tenant_id_number

SECRETS = [*ID_NUMBERS.values(), *PHONES.values()]
SECRETS += [*(tenant_id_number(tag) for tag in "ab"), *TENANT_PHONES.values()]  # the test tenants
# Operations whose purpose is to hand over clear values (audited; tested elsewhere).
CLEAR_BY_DESIGN = {"reveal_person", "export_person_data", "export_rental_registrations"}


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def _xlsx_text(content: bytes) -> str:
    from openpyxl import load_workbook

    book = load_workbook(BytesIO(content), read_only=True)
    return "\n".join(str(cell) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                     for cell in row if cell is not None)


def _body_text(response) -> str:
    kind = response.get("Content-Type", "")
    if "spreadsheetml" in kind:
        return _xlsx_text(b"".join(response.streaming_content) if response.streaming else response.content)
    if response.streaming:
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def _get_operations(district) -> list[tuple[str, str]]:
    """(operationId, url) for every GET in the schema, path params filled with side-a records."""
    from linli.core.testing import add_billing_and_work_orders

    a = add_billing_and_work_orders(district).a
    values = {"region_id": a.community.pk, "grid_id": a.grid.pk, "compound_id": a.compound.pk,
              "building_id": a.building.pk, "unit_id": a.unit.pk, "house_id": a.house.pk,
              "person_id": a.owner.pk, "residency_id": a.residency.pk, "organisation_id": a.company.pk,
              "real_unit_id": a.real_unit.pk, "vehicle_id": a.vehicle.pk, "consent_id": a.consent.pk,
              "user_id": a.users["guard"].pk, "device_id": a.device.pk, "event_id": a.event.pk,
              "dead_letter_id": a.dead_letter.pk, "alarm_id": a.alarm.pk, "rule_id": a.rule.pk,
              "index": 0, "fee_item_id": a.fee_item.pk, "bill_id": a.bill.pk, "payment_id": a.payment.pk,
              "refund_id": a.refund.pk, "category_id": a.category.pk, "order_id": a.work_order.pk}
    from linli.core.models import AuditEntry

    values["entry_id"] = AuditEntry.objects.filter(object_type="people.person").order_by("id").first().pk
    from linli.notify.testing import side_records

    values["notification_id"] = side_records(a)["notification"].pk
    from linli.parcels.testing import side_records as parcel_records
    from linli.visitors.testing import side_records as visitor_records

    visitors = visitor_records(a)
    values["parcel_id"] = parcel_records(a)["parcel"].pk
    values["invitation_id"], values["visit_id"] = visitors["invitation"].pk, visitors["visit"].pk
    from linli.votes.testing import add_votes
    from linli.votes.testing import side_records as vote_records

    values["vote_id"] = vote_records(add_votes(district).a)["vote"].pk
    from linli.surveys.testing import add_surveys
    from linli.surveys.testing import side_records as survey_records

    values["survey_id"] = survey_records(add_surveys(district).a)["survey"].pk
    from linli.notices.testing import side_records as notice_records
    from linli.rentals.testing import side_records as rental_records

    values["notice_id"] = notice_records(a)["notice"].pk
    rentals = rental_records(a, "a")
    values["listing_id"], values["tenancy_id"] = rentals["listing"].pk, rentals["tenancy"].pk
    out = []
    schema = api.get_openapi_schema()
    for path, item in schema["paths"].items():
        op = item.get("get")
        if not op:
            continue
        choices = [{}]
        for param in op.get("parameters", []):
            if param["in"] != "path":
                continue
            name = param["name"]
            enum = _enum_of(schema, param.get("schema", {}))
            if enum:
                choices = [{**c, name: e} for c in choices for e in enum]
            else:
                choices = [{**c, name: values[name]} for c in choices]
        for chosen in choices:
            url = path
            for name, value in chosen.items():
                url = url.replace("{" + name + "}", str(value))
            out.append((op["operationId"], url))
    return out


def _enum_of(schema: dict, param_schema: dict) -> list:
    if "enum" in param_schema:
        return param_schema["enum"]
    ref = param_schema.get("$ref") or next((s.get("$ref") for s in param_schema.get("allOf", [])), None)
    if ref:
        return schema["components"]["schemas"][ref.rsplit("/", 1)[-1]].get("enum", [])
    return []


pytestmark = pytest.mark.django_db


def test_api_responses_never_carry_clear_personal_numbers(district, caplog):
    caplog.set_level(logging.DEBUG)
    failures = []
    users = {f"{role}_{tag}": user for tag, side in (("a", district.a), ("b", district.b))
             for role, user in side.users.items()}
    users["city_admin"] = district.city_admin
    for label, user in users.items():
        client = ApiClient(user)
        for op_id, url in _get_operations(district):
            if op_id in CLEAR_BY_DESIGN:
                continue
            response = client.get(url, limit=500) if "{" not in url else None
            if response is None or response.status_code != 200:
                continue
            leaked = _leaks(_body_text(response))
            if leaked:
                failures.append(f"{label} {op_id} {url}: {leaked}")
    assert not failures, "\n".join(failures)
    assert not _leaks(caplog.text)


def test_the_login_code_flow_logs_no_clear_phone_number(district, caplog):
    caplog.set_level(logging.DEBUG)
    client = Client()
    response = client.post("/api/auth/code", {"phone": PHONES["a_owner"]}, content_type="application/json")
    assert response.status_code == 202
    from linli.notify.providers import ConsoleSmsProvider

    code = ConsoleSmsProvider.sent[-1].params["code"]
    assert "138****8001" in caplog.text
    token = client.post("/api/auth/code/token", {"phone": PHONES["a_owner"], "code": code},
                        content_type="application/json")
    assert token.status_code == 200
    me = Client(HTTP_AUTHORIZATION=f"Bearer {token.json()['token']}").get("/api/auth/me").json()
    assert me["person_id"] == district.a.owner.pk
    assert not _leaks(caplog.text)


def test_an_error_naming_a_bad_value_does_not_echo_personal_numbers(district, caplog):
    caplog.set_level(logging.DEBUG)
    api_client = ApiClient(district.a.users["property_manager"])
    response = api_client.post("/api/people/persons", {"compound_id": district.a.compound.pk, "name": "重复",
                                                       "id_number": ID_NUMBERS["a_owner"],
                                                       "phone": PHONES["a_owner"]})
    assert response.status_code == 409
    assert not _leaks(response.content.decode())
    assert not _leaks(caplog.text)


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "hx-get") and value:
                self.hrefs.append(value)


SKIP_LINKS = re.compile(r"^/(static|i18n|logout|api)/|/reveal|^/admin/")


def _crawl(client: Client, start: str = "/", limit: int = 250) -> tuple[dict[str, str], list[str]]:
    seen: dict[str, str] = {}
    errors = []
    queue = [start]
    while queue and len(seen) < limit:
        url = queue.pop(0)
        if url in seen:
            continue
        response = client.get(url)
        if response.status_code >= 500:
            errors.append(f"{url}: {response.status_code}")
        text = _body_text(response) if response.status_code == 200 else ""
        seen[url] = text
        if "text/html" not in response.get("Content-Type", ""):
            continue
        parser = _Links()
        parser.feed(text)
        for href in parser.hrefs:
            target = urljoin(url, href)
            parsed = urlparse(target)
            if parsed.netloc or SKIP_LINKS.search(parsed.path):
                continue
            path = parsed.path + (f"?{parsed.query}" if parsed.query else "")
            if path not in seen:
                queue.append(path)
    return seen, errors


def test_console_pages_and_exports_never_show_clear_personal_numbers(district, caplog):
    caplog.set_level(logging.DEBUG)
    failures = []
    crawled = 0
    for tag, side in (("a", district.a), ("b", district.b)):
        for role, user in side.users.items():
            client = Client()
            client.force_login(user, backend="linli.accounts.backends.StaffPasswordBackend")
            pages, errors = _crawl(client)
            failures += [f"{role}_{tag} {e}" for e in errors]
            crawled += len(pages)
            for url, text in pages.items():
                leaked = _leaks(text)
                if leaked:
                    failures.append(f"{role}_{tag} {url}: {leaked}")
    assert crawled > 40, "the console crawl found too few pages to mean anything"
    assert not failures, "\n".join(failures)
    assert not _leaks(caplog.text)
