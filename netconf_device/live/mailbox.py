"""A bounded, event-loop-driven queue between the IKE daemon and the PFE.

Both engines are sans-IO and call back synchronously; handing their events over through a mailbox keeps
one engine's callback from re-entering the other (and itself), batches everything that arrived during one
loop turn, and bounds what a flood of packets can queue: beyond ``limit`` items new ones are dropped and
counted (the IKE retransmission timers and the PFE's acquire/rekey re-requests recover from a lost event).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

log = logging.getLogger("netconf_device.live")

#: Items delivered per loop turn before the rest waits for the next turn (wires and sessions get a turn too).
DRAIN_BATCH = 4096


class Mailbox:
    def __init__(self, name: str, deliver: Callable[[object], None], *, limit: int = 65536) -> None:
        self.name = name
        self._deliver = deliver
        self._limit = limit
        self._queue: deque = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scheduled = False
        self.delivered = 0
        self.dropped = 0
        self.failed = 0

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        if self._queue:
            self._schedule()

    def __len__(self) -> int:
        return len(self._queue)

    def put(self, item: object) -> None:
        if len(self._queue) >= self._limit:
            self.dropped += 1
            if self.dropped in (1, 10, 100) or self.dropped % 1000 == 0:
                log.warning("%s mailbox full (%d items): %d events dropped so far", self.name, self._limit,
                            self.dropped)
            return
        self._queue.append(item)
        self._schedule()

    def _schedule(self) -> None:
        if not self._scheduled and self._loop is not None:
            self._scheduled = True
            self._loop.call_soon(self.drain)

    def drain(self) -> None:
        """Deliver what is queued (at most ``DRAIN_BATCH`` items; the rest on the next turn)."""
        self._scheduled = False
        queue, deliver = self._queue, self._deliver
        for _ in range(DRAIN_BATCH):
            if not queue:
                return
            item = queue.popleft()
            try:
                deliver(item)
                self.delivered += 1
            except Exception:  # a consumer bug loses this event, never the device
                self.failed += 1
                log.exception("%s: delivering %s failed", self.name, type(item).__name__)
        if queue:
            self._schedule()
