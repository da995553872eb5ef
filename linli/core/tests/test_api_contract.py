"""The published OpenAPI schema tells the truth, and no input a client can send gets a 500.

Each test walks the live schema (what `api.get_openapi_schema()` builds, not docs/openapi.json),
so an operation added later is held to the same rules without being named here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from linli.api import api
from linli.core.tests.apiclient import ApiClient

pytestmark = pytest.mark.urls("linli.core.tests.api_only_urls")

BEYOND_64_BITS = 2**64
INT64 = (-(2**63), 2**63 - 1)


def _schema() -> dict[str, Any]:
    return json.loads(json.dumps(api.get_openapi_schema()))


def _operations(schema: dict[str, Any]):
    for path, item in schema["paths"].items():
        for method, op in item.items():
            yield path, method, op


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _alternatives(schema: dict[str, Any], node: dict[str, Any]) -> list[dict[str, Any]]:
    node = _resolve(schema, node)
    return [_resolve(schema, n) for n in node.get("anyOf", [])] or [node]


def _json_body(schema: dict[str, Any], op: dict[str, Any]) -> dict[str, Any] | None:
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return None
    return _resolve(schema, content["application/json"]["schema"])


def _url(path: str, **values: Any) -> str:
    for name in [p.split("}")[0] for p in path.split("{")[1:]]:
        path = path.replace("{" + name + "}", str(values.get(name, 1)))
    return path


@pytest.fixture
def admin(district):
    client = ApiClient(district.admin)
    client.client.raise_request_exception = False  # a 500 is a finding to report, not a crash of the test
    return client


# --- finding 4: one name, one schema ---------------------------------------------------------------


def _bound_operations():
    for router in api._get_bound_routers():
        for path_view in router.path_operations.values():
            yield from path_view.operations


def test_every_component_is_what_the_operations_using_it_generate():
    """ninja keeps one component per name; a second class of the same name used to overwrite the
    first, so the votes' result was documented with the surveys' one. Every operation's own
    models, generated alone, must find their definitions published unchanged."""
    from ninja.constants import NOT_SET
    from ninja.openapi.schema import REF_TEMPLATE
    from ninja.schema import NinjaGenerateJsonSchema

    published = _schema()["components"]["schemas"]
    wrong = set()
    for operation in _bound_operations():
        generated = [(m, "validation", True) for m in operation.models]
        generated += [(m, "serialization", operation.by_alias) for m in operation.response_models.values()
                      if m not in (None, NOT_SET)]
        for model, mode, by_alias in generated:
            own = model.model_json_schema(ref_template=REF_TEMPLATE, schema_generator=NinjaGenerateJsonSchema,
                                          mode=mode, by_alias=bool(by_alias))
            for name, definition in own.get("$defs", {}).items():
                if json.loads(json.dumps(definition)) != published.get(name):
                    wrong.add(f"{operation.operation_id}: {name}")
    assert not wrong, sorted(wrong)


def test_the_overwritten_schemas_of_the_report_say_what_the_server_does():
    schema = _schema()
    paths = schema["paths"]

    def response(path: str, method: str = "get") -> dict[str, Any]:
        return _resolve(schema, paths[path][method]["responses"]["200"]["content"]["application/json"]["schema"])

    vote_result = response("/api/votes/{vote_id}/result")["properties"]["result"]
    assert "passed" in _resolve(schema, vote_result)["properties"]
    returned = _json_body(schema, paths["/api/workorders/{order_id}/return"]["post"])
    assert returned["required"] == ["note"]
    order = response("/api/workorders/{order_id}")
    assert "accepted" in _resolve(schema, order["properties"]["status"])["enum"]
    notification = response("/api/notifications/{notification_id}")
    delivery = _resolve(schema, notification["properties"]["deliveries"]["items"])
    assert "webpush" in _resolve(schema, delivery["properties"]["channel"])["enum"]


def test_two_schema_classes_of_one_name_fail_the_schema_build():
    from django.core.exceptions import ImproperlyConfigured
    from ninja import Router, Schema

    from linli.core.api import LinliAPI

    def schema(name: str, fields: dict[str, Any]) -> type[Schema]:
        return type(name, (Schema,), {"__annotations__": fields})

    VoteOut = schema("VoteOut", {"result": schema("ResultOut", {"passed": bool})})
    SurveyOut = schema("SurveyOut", {"result": schema("ResultOut", {"responses": int})})
    votes, surveys = Router(), Router()
    votes.get("/vote", response=VoteOut, operation_id="vote")(lambda request: None)
    surveys.get("/survey", response=SurveyOut, operation_id="survey")(lambda request: None)
    clash = LinliAPI(urls_namespace="clash")
    clash.add_router("/votes", votes)
    clash.add_router("/surveys", surveys)
    with pytest.raises(ImproperlyConfigured, match="ResultOut"):
        clash.get_openapi_schema(path_prefix="/")


# --- finding 3a: integers a database cannot hold -----------------------------------------------------


def _integers(schema: dict[str, Any], node: dict[str, Any], where: str, seen: frozenset = frozenset()):
    if "$ref" in node:
        if node["$ref"] in seen:
            return
        seen = seen | {node["$ref"]}
        node = _resolve(schema, node)
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in node.get(key, []):
            yield from _integers(schema, sub, where, seen)
    if node.get("type") == "integer":
        yield where, node
    for name, sub in node.get("properties", {}).items():
        yield from _integers(schema, sub, f"{where}.{name}", seen)
    if isinstance(node.get("items"), dict):
        yield from _integers(schema, node["items"], f"{where}[]", seen)
    if isinstance(node.get("additionalProperties"), dict):
        yield from _integers(schema, node["additionalProperties"], f"{where}{{}}", seen)


def test_every_integer_a_client_sends_is_documented_within_64_bits():
    schema = _schema()
    unbounded = []
    for _path, _method, op in _operations(schema):
        inputs = [(f"{p['in']} {p['name']}", p["schema"]) for p in op.get("parameters", [])]
        inputs += [("body", c["schema"]) for c in op.get("requestBody", {}).get("content", {}).values()]
        for where, node in inputs:
            for name, integer in _integers(schema, node, where):
                low, high = integer.get("minimum"), integer.get("maximum")
                if low is None or high is None or low < INT64[0] or high > INT64[1]:
                    unbounded.append(f"{op['operationId']}: {name}")
    assert not unbounded, unbounded


def test_integers_beyond_64_bits_are_refused_with_422_on_every_operation(admin):
    """`offset`, `limit`, ids and integer filters: a number no bigint holds never reaches a query."""
    schema = _schema()
    wrong = []
    for path, method, op in _operations(schema):
        for param in op.get("parameters", []):
            if not any(alt.get("type") == "integer" for alt in _alternatives(schema, param["schema"])):
                continue
            if param["in"] == "query":
                response = admin.call(method, _url(path), None, **{param["name"]: BEYOND_64_BITS}) \
                    if method == "get" else admin.call(method, f"{_url(path)}?{param['name']}={BEYOND_64_BITS}",
                                                       {})
            else:
                response = admin.call(method, _url(path, **{param["name"]: BEYOND_64_BITS}),
                                      {} if method != "get" else None)
            if response.status_code != 422:
                wrong.append(f"{op['operationId']} {param['in']} {param['name']}: {response.status_code}")
        body = _json_body(schema, op)
        for name, prop in (body or {}).get("properties", {}).items():
            if any(alt.get("type") == "integer" for alt in _alternatives(schema, prop)):
                response = admin.call(method, _url(path), {name: BEYOND_64_BITS})
                if response.status_code != 422 or name not in response.json()["error"]["fields"]:
                    wrong.append(f"{op['operationId']} body {name}: {response.status_code}")
    assert not wrong, wrong


# --- finding 4: dates, non-object bodies, nulls, malformed JSON ------------------------------------------


def _is_date(schema: dict[str, Any], node: dict[str, Any]) -> bool:
    return any(alt.get("format") in ("date", "date-time") for alt in _alternatives(schema, node))


@pytest.mark.parametrize("not_a_date", ["0.5", "1700000000", 0.5])
def test_a_date_is_a_date_and_never_a_number(admin, not_a_date):
    schema = _schema()
    accepted = []
    for path, method, op in _operations(schema):
        for param in op.get("parameters", []):
            if param["in"] == "query" and _is_date(schema, param["schema"]) and not isinstance(not_a_date, float):
                response = admin.call(method, _url(path), None, **{param["name"]: not_a_date})
                if response.status_code != 422:
                    accepted.append(f"{op['operationId']} query {param['name']}: {response.status_code}")
        body = _json_body(schema, op)
        for name, prop in (body or {}).get("properties", {}).items():
            if _is_date(schema, prop):
                response = admin.call(method, _url(path), {name: not_a_date})
                if response.status_code != 422 or name not in response.json()["error"]["fields"]:
                    accepted.append(f"{op['operationId']} body {name}: {response.status_code}")
    assert not accepted, accepted


@pytest.mark.parametrize("moment", ["2024-05-01T08:00:00+19:09", "0001-01-01T00:00:00+08:00",
                                    "9999-12-31T23:59:59-12:00"])
def test_a_moment_is_one_the_database_can_store(admin, moment):
    """Python reads UTC offsets up to 24 hours, PostgreSQL up to 16 (a 500 there); and a moment on
    Python's first or last day has no UTC equivalent (an OverflowError on any database)."""
    schema = _schema()
    accepted = []
    for path, method, op in _operations(schema):
        for param in op.get("parameters", []):
            if param["in"] == "query" and _is_date(schema, param["schema"]) and _is_moment(schema, param["schema"]):
                response = admin.call(method, _url(path), None, **{param["name"]: moment})
                if response.status_code != 422:
                    accepted.append(f"{op['operationId']} query {param['name']}: {response.status_code}")
        body = _json_body(schema, op)
        for name, prop in (body or {}).get("properties", {}).items():
            if _is_moment(schema, prop):
                response = admin.call(method, _url(path), {name: moment})
                if response.status_code != 422 or name not in response.json()["error"]["fields"]:
                    accepted.append(f"{op['operationId']} body {name}: {response.status_code}")
    assert not accepted, accepted


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_date_has_a_day_either_side(admin, day):
    """The SLA figures of `since=0001-01-01` (midnight in Asia/Shanghai, before year 1 in UTC) were a
    500 (OverflowError), found by the long fuzz run; so would any date arithmetic at the edges be."""
    schema = _schema()
    accepted = []
    for path, method, op in _operations(schema):
        for param in op.get("parameters", []):
            if param["in"] == "query" and _is_date(schema, param["schema"]):
                response = admin.call(method, _url(path), None, **{param["name"]: day})
                if response.status_code != 422 or param["name"] not in response.json()["error"]["fields"]:
                    accepted.append(f"{op['operationId']} query {param['name']}: {response.status_code}")
        body = _json_body(schema, op)
        for name, prop in (body or {}).get("properties", {}).items():
            if _is_date(schema, prop):
                response = admin.call(method, _url(path), {name: day})
                if response.status_code != 422 or name not in response.json()["error"]["fields"]:
                    accepted.append(f"{op['operationId']} body {name}: {response.status_code}")
    assert not accepted, accepted


def _is_moment(schema: dict[str, Any], node: dict[str, Any]) -> bool:
    return any(alt.get("format") == "date-time" for alt in _alternatives(schema, node))


@pytest.mark.parametrize("not_an_object", [[None, None], "text", 5, None, []])
def test_a_request_body_that_is_not_a_json_object_is_refused_with_422(admin, not_an_object):
    schema = _schema()
    accepted = []
    for path, method, op in _operations(schema):
        if _json_body(schema, op) is None:
            continue
        response = admin.client.generic(method.upper(), _url(path), json.dumps(not_an_object),
                                        content_type="application/json")
        if response.status_code != 422:
            accepted.append(f"{op['operationId']}: {response.status_code}")
    assert not accepted, accepted


@pytest.mark.parametrize("malformed", [b'{"unterminated', b'{"x": NaN}', b'{"x": -Infinity}', b'{"x": 1e999}'])
def test_malformed_json_is_a_documented_400_with_the_error_body(admin, malformed):
    """NaN, Infinity and numbers beyond a double are no JSON (RFC 8259), though Python's parser
    reads them; stored, they broke PostgreSQL's jsonb and every later answer holding them."""
    schema = _schema()
    wrong = []
    for path, method, op in _operations(schema):
        if _json_body(schema, op) is None:
            continue
        documented = op["responses"].get("400", {}).get("content", {}).get("application/json", {}).get("schema")
        if documented != {"$ref": "#/components/schemas/ErrorBody"}:
            wrong.append(f"{op['operationId']}: 400 not documented")
        response = admin.client.generic(method.upper(), _url(path), malformed, content_type="application/json")
        if response.status_code != 400 or response.json()["error"]["code"] != "bad_request":
            wrong.append(f"{op['operationId']}: {response.status_code}")
    assert not wrong, wrong


def _patch_targets(district) -> dict[str, int]:
    """One real record per PATCH path parameter."""
    from linli.core.testing import add_billing_and_work_orders

    d = add_billing_and_work_orders(district)
    a = d.a
    return {"compound_id": a.compound.pk, "building_id": a.building.pk, "house_id": a.house.pk,
            "person_id": a.owner.pk, "residency_id": a.residency.pk, "organisation_id": a.company.pk,
            "real_unit_id": a.real_unit.pk, "vehicle_id": a.vehicle.pk, "user_id": a.users["guard"].pk,
            "device_id": a.device.pk, "rule_id": a.rule.pk, "fee_item_id": a.fee_item.pk,
            "category_id": a.category.pk}


def test_a_patch_that_nulls_a_field_the_record_needs_is_refused_with_422(district, admin):
    """Each PATCH field set to null: a field documented as not nullable is refused with 422 naming
    it; a nullable one is taken (or refused by a domain rule, with 422 naming it); never a 409 or a
    500 from the database's NOT NULL."""
    schema = _schema()
    targets = _patch_targets(district)
    wrong = []
    for path, method, op in _operations(schema):
        body = _json_body(schema, op)
        if method != "patch" or body is None:
            continue
        url = _url(path, **targets)
        for name, prop in body.get("properties", {}).items():
            nullable = any(alt.get("type") == "null" for alt in _alternatives(schema, prop))
            response = admin.patch(url, {name: None})
            refused = response.status_code == 422 and name in response.json()["error"]["fields"]
            if refused or (nullable and response.status_code == 200):
                continue
            wrong.append(f"{op['operationId']} {name}=null: {response.status_code} "
                         f"(documented {'nullable' if nullable else 'not nullable'})")
    assert not wrong, wrong


def test_a_number_is_finite(admin):
    """`"nan"` and `"inf"` as strings were read as numbers and stored."""
    schema = _schema()
    wrong = []
    for path, method, op in _operations(schema):
        body = _json_body(schema, op) or {}
        for name, prop in body.get("properties", {}).items():
            if any(alt.get("type") == "number" for alt in _alternatives(schema, prop)):
                for not_finite in ("nan", "inf"):
                    response = admin.call(method, _url(path), {name: not_finite})
                    if response.status_code != 422 or name not in response.json()["error"]["fields"]:
                        wrong.append(f"{op['operationId']} body {name}={not_finite}: {response.status_code}")
    assert not wrong, wrong


@pytest.mark.parametrize("where", ["query", "body"])
def test_a_nul_character_is_refused_with_422_before_postgresql_fails_on_it(admin, where):
    """PostgreSQL stores no NUL in text: `?q=a%00b` was a 500 there (SQLite took it)."""
    schema = _schema()
    wrong = []
    for path, method, op in _operations(schema):
        if where == "query":
            names = [p["name"] for p in op.get("parameters", []) if p["in"] == "query"
                     and any(alt.get("type") == "string" for alt in _alternatives(schema, p["schema"]))]
        else:
            body = _json_body(schema, op) or {}
            names = [n for n, prop in body.get("properties", {}).items()
                     if any(alt.get("type") == "string" for alt in _alternatives(schema, prop))]
        for name in names:
            if where == "query" and method == "get":
                response = admin.call(method, _url(path), None, **{name: "a\x00b"})
            elif where == "query":
                response = admin.call(method, f"{_url(path)}?{name}=a%00b", {})
            else:
                response = admin.call(method, _url(path), {name: "a\x00b"})
            if response.status_code != 422:
                wrong.append(f"{op['operationId']} {where} {name}: {response.status_code}")
    assert not wrong, wrong


def test_a_string_longer_than_its_column_is_refused_not_a_500(district, admin):
    """SQLite stores a string of any length in a varchar, PostgreSQL refuses it (a 500): a very long
    text in a body field without a documented limit is stored or refused with a 422, never a 5xx.
    (It bites in the PostgreSQL pass; in the SQLite pass it checks nothing else fails on it.)"""
    schema = _schema()
    targets = _patch_targets(district)
    wrong = []
    for path, method, op in _operations(schema):
        body = _json_body(schema, op) or {}
        for name, prop in body.get("properties", {}).items():
            if any(alt.get("type") == "string" and "maxLength" not in alt and "enum" not in alt
                   for alt in _alternatives(schema, prop)):
                response = admin.call(method, _url(path, **targets), {name: "长" * 5000})
                if response.status_code >= 500:
                    wrong.append(f"{op['operationId']} body {name}: {response.status_code}")
    assert not wrong, wrong


# --- finding 4: exports document their filters ---------------------------------------------------------


def test_the_export_operation_documents_every_filter_it_reads():
    from linli.exchange.selectors import EXPORT_LISTS

    schema = _schema()
    op = schema["paths"]["/api/exchange/exports/{list_name}"]["get"]
    documented = {p["name"] for p in op["parameters"] if p["in"] == "query"}
    read = {name for export in EXPORT_LISTS.values() for name in export.filters}
    assert read <= documented, sorted(read - documented)
