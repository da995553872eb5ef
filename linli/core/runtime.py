"""Process start-up steps shared by every long-running Linli process."""

from __future__ import annotations

import gc


def settle_after_startup() -> None:
    """Move everything loaded at start-up into the permanent GC generation.

    Django, ninja and pydantic leave ~1 million objects behind at import; without this,
    each full collection rescans them and stalls a request for ~40 ms (docs/benchmarks.md).
    """
    gc.collect()
    gc.freeze()
