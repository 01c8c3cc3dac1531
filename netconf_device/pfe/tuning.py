"""Process-level tuning for a packet-forwarding process.

CPython hands every packet buffer above 512 bytes to the C allocator. With glibc's defaults, freeing a
batch's worth of buffers shrinks the heap back to the kernel and the next batch faults the same pages
in again, which costs more than the AES-GCM work on a 1400-byte packet. Raising the trim threshold keeps
those pages (a few MB) in the process. Call once at start-up of a device process; it is a no-op where
``mallopt`` does not exist (non-glibc platforms).
"""

from __future__ import annotations

import ctypes
import logging

log = logging.getLogger("netconf_device.pfe.tuning")

_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2


def tune_allocator(trim_threshold: int = 64 << 20, top_pad: int = 16 << 20) -> bool:
    """Keep freed packet buffers in the process (glibc ``mallopt``); returns whether it was applied."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    applied = bool(mallopt(_M_TRIM_THRESHOLD, trim_threshold)) and bool(mallopt(_M_TOP_PAD, top_pad))
    log.debug("glibc allocator tuning %s", "applied" if applied else "refused")
    return applied
