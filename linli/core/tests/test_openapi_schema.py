"""The published OpenAPI schema (docs/openapi.json) matches the code."""

import json
from pathlib import Path

from linli.api import api

SCHEMA = Path(__file__).resolve().parents[3] / "docs" / "openapi.json"


def test_the_committed_openapi_schema_is_up_to_date():
    current = json.loads(json.dumps(api.get_openapi_schema(), sort_keys=True))
    committed = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert current == committed, "the API changed: run `linli schema -o docs/openapi.json` and commit it"


def test_every_operation_has_a_unique_id_and_documents_its_errors():
    ids = []
    for item in api.get_openapi_schema()["paths"].values():
        for op in item.values():
            ids.append(op["operationId"])
    assert len(ids) == len(set(ids))


def test_interactive_docs_are_served_locally(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "cdn." not in html and "unpkg" not in html and "jsdelivr" not in html


def test_the_schema_is_built_once_per_process_and_served_from_then_on(client, monkeypatch):
    """Building it takes seconds (every operation, every model): /api/docs took 15 s to show."""
    from linli.core import api as core_api

    built = []
    checked = core_api._CheckedSchema

    class Counting(checked):
        def __init__(self, *args, **kwargs):
            built.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(core_api, "_CheckedSchema", Counting)
    monkeypatch.setattr(api, "_schemas", {})
    first = client.get("/api/openapi.json")
    second = client.get("/api/openapi.json")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() and first.json()["paths"]
    assert len(built) == 1
    assert api.get_openapi_schema() is api.get_openapi_schema()
