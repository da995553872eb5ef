"""Process start-up helpers."""

import gc
import logging

from linli.core.runtime import watch_gc_pauses


def test_a_long_garbage_collection_is_logged_once_per_collection(caplog):
    before = list(gc.callbacks)
    try:
        watch_gc_pauses(warn_after_s=0.0)
        watch_gc_pauses(warn_after_s=0.0)  # started twice: still one watcher
        with caplog.at_level(logging.WARNING, logger="linli.runtime.gc"):
            gc.collect()
        pauses = [r for r in caplog.records if r.name == "linli.runtime.gc"]
        assert len(pauses) == 1 and "generation 2" in pauses[0].getMessage()
        watch_gc_pauses(warn_after_s=10.0)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="linli.runtime.gc"):
            gc.collect()
        assert not [r for r in caplog.records if r.name == "linli.runtime.gc"]
        stop = watch_gc_pauses(warn_after_s=0.0)
        stop()
        with caplog.at_level(logging.WARNING, logger="linli.runtime.gc"):
            gc.collect()
        assert not [r for r in caplog.records if r.name == "linli.runtime.gc"]  # stopped: silent
    finally:
        gc.callbacks[:] = before
