"""glibc malloc settings for server processes: give freed memory back, few arenas.

glibc raises its trim and mmap thresholds after a large block is freed (its "dynamic
threshold"); from then on freed memory at the top of the heap stays resident. In hallq the
first start alone (creating the first account, migrating) left ~19 MB of freed memory
resident that way (bench/bench_footprint.py: 118 MB → 99 MB with a fixed threshold). Setting
the trim threshold (here to glibc's own default, 128 KiB) turns the dynamic adjustment off.
Each thread that allocates may get an arena of its own (up to 8 per core); two are enough
under the GIL and bound the fragmentation of the store's and anyio's worker threads.

Both are documented glibc knobs (mallopt(3), and the ``MALLOC_TRIM_THRESHOLD_`` /
``MALLOC_ARENA_MAX`` environment variables that child processes inherit). An operator's own
environment setting wins; elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1  # <malloc.h>
M_ARENA_MAX = -8
SETTINGS = {"MALLOC_TRIM_THRESHOLD_": (M_TRIM_THRESHOLD, 128 * 1024), "MALLOC_ARENA_MAX": (M_ARENA_MAX, 2)}


def tune_malloc(environ: dict[str, str] | None = None) -> dict[str, int]:
    """Apply the settings to this process (unless the environment set them) and export them to children.

    Returns the settings applied here by ``mallopt``.
    """
    env = os.environ if environ is None else environ
    applied: dict[str, int] = {}
    if not sys.platform.startswith("linux"):
        return applied
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others: no mallopt
        return applied
    for name, (param, value) in SETTINGS.items():
        if name in env:
            continue  # glibc read the operator's value at process start
        if mallopt(param, value) == 1:
            applied[name] = value
        env[name] = str(value)  # uvicorn workers and the device-host child start with it
    if applied:
        log.debug("malloc: %s", applied)
    return applied
