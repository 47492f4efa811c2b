"""Keeping a streaming process's memory flat.

glibc raises its mmap threshold each time a large block is freed, so that later batch-sized
arrays (a few MB each) come from the heap, where freed space is fragmented and rarely returned:
a streaming capture then grows by ~9 KB per sample although it holds one batch. Fixing the
threshold (``mallopt(M_MMAP_THRESHOLD)``, as setting ``MALLOC_MMAP_THRESHOLD_`` would) keeps
such arrays in their own mappings, returned to the system when freed. Measured in
``tests/benchmarks/bench_capture_memory.py``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

_M_MMAP_THRESHOLD = -3


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


def release_freed_memory(threshold: int = 1 << 17) -> bool:
    """Serve allocations ≥ ``threshold`` bytes by mmap from now on (glibc only; a no-op
    elsewhere). Returns whether the setting took effect."""
    libc = _libc()
    if libc is None or not hasattr(libc, "mallopt"):
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, threshold))
