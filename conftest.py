import os

import pytest


def pytest_configure(config):
    os.environ.setdefault("LINLI_DATA_DIR", os.path.join(os.path.dirname(__file__), "var", "test"))


@pytest.fixture
def district(db):
    from linli.core.testing import build_district

    return build_district()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Production uses PBKDF2; tests create dozens of accounts and need not pay for it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _service_or_skip(name: str, probe) -> None:
    """Tests needing a real service run against it; skipped without it, except on CI."""
    try:
        probe()
    except Exception as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is required on CI but unreachable: {exc}")
        pytest.skip(f"{name} not reachable: {exc}")


@pytest.fixture
def redis_url():
    url = os.environ.get("LINLI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

    def probe():
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).ping()

    _service_or_skip("Redis", probe)
    return url


@pytest.fixture
def postgres_url():
    url = os.environ.get("LINLI_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")

    def probe():
        import psycopg

        psycopg.connect(url, connect_timeout=2).close()

    _service_or_skip("PostgreSQL", probe)
    return url


@pytest.fixture(autouse=True, scope="session")
def _flush_through_the_audit_guard():
    """Transactional tests empty every table afterwards; open the audit guard just for that."""
    from django.core.management.commands import flush

    from linli.core.audit import maintenance_window

    original = flush.Command.handle

    def handle(self, **options):
        with maintenance_window(options.get("database", "default")):
            return original(self, **options)

    flush.Command.handle = handle
    yield
    flush.Command.handle = original


@pytest.fixture(autouse=True)
def _default_language():
    # A request in English (or a test that switched language) must not leave English behind for
    # the next test's error messages.
    from django.conf import settings
    from django.utils import translation

    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _fresh_rule_cache():
    # The rule cache checks the table at most once a second; a rolled-back test's rules must not
    # leak into the next test through it.
    from linli.automations import engine
    from linli.devices import health

    engine.RULES.invalidate()
    engine.RULES.version = None
    engine._last_quiet.clear()  # nor its sampled quiet traces (ids are reused after a rollback)
    engine.DEVICES.clear()  # nor the devices it read
    health.forget_seen()  # nor which devices this process last marked seen
    yield
    engine.RULES.invalidate()
    engine.RULES.version = None


# Fixtures that give a test the database; any of them means the test may have touched money.
_DATABASE_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback"}


@pytest.fixture(autouse=True)
def _ledger_balances(request):
    """After every test that used the database, the double-entry ledger must balance: bills,
    payments, refunds and paid repairs are touched well beyond the billing app's own tests."""
    uses_database = request.node.get_closest_marker("django_db") is not None or (
        _DATABASE_FIXTURES & set(request.fixturenames))
    if not uses_database:
        yield
        return
    # Set up the database from here, so this check runs before it is rolled back or flushed.
    request.getfixturevalue("db")
    yield
    from linli.billing.ledger import check_balanced

    report = check_balanced()
    if not report.ok:
        pytest.fail(f"the ledger does not balance after this test: {report}")


_BROWSER_FIXTURES = {"phone_browser", "browser_page"}


def pytest_collection_modifyitems(config, items):
    # Browser tests drive pages, not the database: scripts/test.sh runs them in the SQLite pass
    # and leaves them out of the PostgreSQL pass (`-m "not browser"`), which keeps CI in budget.
    for item in items:
        if _BROWSER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)
