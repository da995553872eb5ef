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
