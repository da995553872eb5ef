"""Behaviour that depends on the real shared services a deployment runs (Redis, PostgreSQL)."""

import uuid

import pytest
from django.core.cache.backends.redis import RedisCache
from django.db import connection

from linli.core import ratelimit


def test_a_rate_limit_holds_across_web_processes_through_redis(redis_url, settings):
    # Two cache clients stand for two web processes sharing one Redis.
    settings.CACHES = {
        "web1": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url},
        "web2": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url},
    }
    from django.core.cache import caches

    assert isinstance(caches["web1"], RedisCache)
    key = f"test-{uuid.uuid4().hex}"
    results = [ratelimit.allow(key, limit=3, window_s=60, cache_alias=alias)
               for alias in ("web1", "web2", "web1", "web2", "web1")]
    assert results == [True, True, True, False, False]


def test_the_audit_log_refuses_updates_and_deletes_in_the_database_itself(district):
    from django.db import transaction

    from linli.core.models import AuditEntry

    entry_id = AuditEntry.objects.order_by("id").values_list("id", flat=True).first()
    for sql in ("UPDATE core_auditentry SET actor = 'mallory' WHERE id = %s",
                "DELETE FROM core_auditentry WHERE id = %s"):
        with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, [entry_id])
    assert AuditEntry.objects.filter(id=entry_id).exclude(actor="mallory").exists()


def test_the_postgresql_pass_really_runs_on_postgresql_when_asked(db):
    import os

    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        assert connection.vendor == "postgresql"
    else:
        assert connection.vendor == "sqlite"
        with connection.cursor() as cur:
            cur.execute("PRAGMA journal_mode")
            assert cur.fetchone()[0] == "wal"
            cur.execute("PRAGMA synchronous")
            assert cur.fetchone()[0] == 2  # FULL
