"""Property-based fuzz of every API operation from the live OpenAPI schema, for each role family.

Schemathesis generates requests from the schema the app publishes (not docs/openapi.json) and
sends them through Django in-process; every answer must be no 5xx, a documented status code, a
documented content type and a body that conforms to the documented schema. Each generated case
runs in a savepoint that is rolled back, so a case's writes never change what a later case sees.

    LINLI_FUZZ_CASES=200 .venv/bin/pytest -m fuzz      # the longer run (docs/benchmarks.md)

LINLI_FUZZ_CASES bounds the cases per operation and role (default: small, to keep CI in budget);
LINLI_FUZZ_OPERATIONS (comma-separated operation ids) narrows a run to some operations. Cases are
derived from the operation alone (derandomized), so a failure comes back with the same command;
it is reported with a curl command line and, for a 5xx, the server's traceback. Requests are
positive (valid per the schema) and negative (invalid) mixed. The fuzz runs in the SQLite pass of
scripts/test.sh only.
"""

from __future__ import annotations

import logging
import os
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis

pytestmark = [pytest.mark.fuzz, pytest.mark.urls("linli.core.tests.api_only_urls")]

CASES = int(os.environ.get("LINLI_FUZZ_CASES", "5"))
REAL_IDS = 40  # a district's tables hold fewer rows than this, so small ids mostly name real ones
ONLY = {name for name in os.environ.get("LINLI_FUZZ_OPERATIONS", "").split(",") if name}


class DjangoApp:
    """A WSGI application around Django's test handler: requests stay inside the test's transaction
    (Django's own WSGI handler would close the connection at the end of each request), and the
    last server-side exception is kept for the failure report."""

    def __init__(self) -> None:
        from django.test.client import ClientHandler

        self.handler = ClientHandler(enforce_csrf_checks=False)
        self.exception: str | None = None

    def __call__(self, environ: dict, start_response: Any) -> Any:
        from django.core.signals import got_request_exception

        def keep(sender: Any, request: Any = None, **kwargs: Any) -> None:
            self.exception = traceback.format_exc()

        self.exception = None
        got_request_exception.connect(keep)
        try:
            response = self.handler(environ)
        finally:
            got_request_exception.disconnect(keep)
        headers = [*response.items(), *(("Set-Cookie", c.output(header="")) for c in response.cookies.values())]
        start_response(f"{response.status_code} {response.reason_phrase}", headers)
        return response


@dataclass
class Tally:
    operations: set[str] = field(default_factory=set)
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    server_errors: int = 0
    violations: int = 0  # answers against the documented schema (status, content type, body), not 5xx
    failures: list[str] = field(default_factory=list)


def _district_with_records(d: Any) -> dict[str, Any]:
    """The test district with a record of every kind on each side, and one user per role family."""
    from linli.core.testing import add_billing_and_work_orders
    from linli.notices import testing as notices
    from linli.notify import testing as notify
    from linli.parcels import testing as parcels
    from linli.rentals import testing as rentals
    from linli.surveys.testing import add_surveys
    from linli.visitors import testing as visitors
    from linli.votes.testing import add_votes

    add_billing_and_work_orders(d)
    for tag, side in (("a", d.a), ("b", d.b)):
        for records in (notices.side_records, notify.side_records, parcels.side_records, visitors.side_records):
            records(side)
        rentals.side_records(side, tag)
    add_votes(d)
    add_surveys(d)
    return {"resident": d.a.users["resident"], "property_staff": d.a.users["property_manager"],
            "officer": d.a.users["street_officer"], "integrator": d.a.users["integrator"], "admin": d.admin}


def _fuzz_operation(operation: Any, app: DjangoApp, roles: dict[str, dict[str, str]], tally: Tally) -> None:
    """Up to CASES generated requests, each sent once as every role family (until one fails for it)."""
    from django.core.cache import caches
    from django.db import transaction
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st
    from schemathesis import GenerationMode

    checks = _checks()
    failed: dict[str, str] = {}

    @settings(max_examples=CASES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
              print_blob=False)
    @given(case=st.one_of(operation.as_strategy(), operation.as_strategy(GenerationMode.NEGATIVE)), data=st.data())
    def run(case: Any, data: Any) -> None:
        _aim_at_real_rows(case, data)
        for family, headers in roles.items():
            if family in failed:
                continue
            for cache in caches.all():
                cache.clear()  # no rate limit carried from one case into the next
            with transaction.atomic():
                try:
                    response = case.call(headers=headers)
                    tally.requests += 1
                    tally.statuses[response.status_code] += 1
                    try:
                        case.validate_response(response, checks=checks, headers=headers)
                    except (AssertionError, BaseExceptionGroup) as exc:
                        if response.status_code >= 500:
                            tally.server_errors += 1
                        else:
                            tally.violations += 1
                        failed[family] = _report(operation, family, exc, app.exception)
                finally:
                    transaction.set_rollback(True)

    try:
        run()
    except Exception as exc:  # the generator itself failed: still a finding about the schema
        failed["generation"] = f"{operation.label}: {type(exc).__name__}: {exc}"
    tally.failures.extend(failed.values())


def _report(operation: Any, family: str, exc: BaseException, server_exception: str | None) -> str:
    op_id = operation.definition.raw.get("operationId", operation.label)
    trace = f"\nserver traceback:\n{server_exception}" if server_exception else ""
    return (f"{family}: {operation.label}\n{exc}{trace}\n"
            f"again: LINLI_FUZZ_OPERATIONS={op_id} LINLI_FUZZ_CASES={CASES} .venv/bin/pytest -m fuzz")


def _aim_at_real_rows(case: Any, data: Any) -> None:
    """Random ids almost never name a row, so most answers would be 404s and the documented 200s
    never checked: ids in the path and id filters usually name one of the district's first rows."""
    from hypothesis import strategies as st

    for container in (case.path_parameters, case.query):
        for name, value in (container or {}).items():
            an_id = isinstance(value, int) and not isinstance(value, bool) and (name.endswith("_id") or name == "index")
            if an_id and data.draw(st.integers(0, 3), label=f"aim {name}"):
                container[name] = data.draw(st.integers(0 if name == "index" else 1, REAL_IDS), label=name)


def _checks() -> list[Any]:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    return [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_every_operation_answers_as_documented_to_every_role_family(district, capsys):
    from linli.core.tests.apiclient import ApiClient

    users = _district_with_records(district)
    app = DjangoApp()
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)  # the live schema, as served
    roles = {family: {"Authorization": ApiClient(user).client.defaults["HTTP_AUTHORIZATION"]}
             for family, user in users.items()}
    tally = Tally()
    started = time.monotonic()
    # Every 4xx is a logged warning; kept by pytest, the long run's 200,000 of them took gigabytes.
    request_log = logging.getLogger("django.request")
    level, request_log.level = request_log.level, logging.ERROR
    try:
        for result in schema.get_all_operations():
            operation = result.ok()
            op_id = operation.definition.raw.get("operationId", operation.label)
            if ONLY and op_id not in ONLY:
                continue
            tally.operations.add(op_id)
            _fuzz_operation(operation, app, roles, tally)
    finally:
        request_log.setLevel(level)
    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(f"\nfuzz: {len(tally.operations)} operations x {len(roles)} role families, up to {CASES} cases "
              f"per operation and role: {tally.requests} requests, {tally.server_errors} 5xx, {tally.violations} "
              f"schema violations, {elapsed:.0f} s; statuses {dict(sorted(tally.statuses.items()))}")
    assert not tally.failures, "\n\n".join(tally.failures)
