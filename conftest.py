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
