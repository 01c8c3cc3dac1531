"""Python's cyclic garbage collector paused for the length of one big configuration operation."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block with the cyclic collector off, then restore it as it was.

    A load or commit of thousands of statements allocates hundreds of thousands of container objects
    (lxml proxies, tuples, intent dataclasses) that live until it ends. The collector would scan the
    growing heap again and again while finding nothing to free (these structures hold no cycles;
    reference counting frees them), which costs 10-20 % of the operation. Cyclic garbage made inside the
    block is not lost: the collector's next regular run finds it. Nesting and threads are safe: only the
    outermost block that found the collector enabled turns it back on.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
