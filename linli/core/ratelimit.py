"""Fixed-window rate limits kept in the cache: Redis when configured, so every web process
counts against the same limit; process memory on the embedded default."""

from __future__ import annotations

import time

from django.core.cache import caches


def allow(key: str, *, limit: int, window_s: int, cache_alias: str = "default") -> bool:
    """Count one hit for `key`; False once more than `limit` hits fall in the current window."""
    cache = caches[cache_alias]
    bucket = f"rl:{key}:{int(time.time() // window_s)}"
    # add() is atomic (SET NX on Redis): only the first hit of a window creates the counter.
    if cache.add(bucket, 1, timeout=window_s + 1):
        return True
    try:
        count = cache.incr(bucket)
    except ValueError:  # expired between add() and incr()
        cache.add(bucket, 1, timeout=window_s + 1)
        return True
    return count <= limit
