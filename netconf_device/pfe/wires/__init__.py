"""Wires: thin asyncio shells that move raw IP packets between an emulated interface and the world.

Every wire has the same small surface:

* ``set_receiver(callback)`` -- ``callback(packets: list[bytes])`` gets what arrived, in batches (all
  packets that arrived in one event-loop turn, bounded);
* ``send(packet)`` / ``send_many(packets)`` -- transmit (never blocks; drops and counts when the far
  end cannot keep up);
* ``close()``; ``stats`` (sent, received, dropped).

Kinds: ``udp.UdpWire`` (a point-to-point link over UDP, unprivileged, works across processes),
``tun.TunWire`` (a Linux TUN device, optionally moved into a network namespace; root) and
``pipe.pipe_pair`` (two endpoints in one process). ``host.Host`` is a small IP host for tests and labs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Receiver = Callable[[list[bytes]], None]

#: Packets a wire buffers for one delivery; beyond that arrivals are dropped and counted.
MAX_BATCH = 512


@dataclass
class WireStats:
    sent: int = 0
    received: int = 0
    dropped: int = 0


class BatchingReceiver:
    """Collects packets arriving one by one and hands them to the receiver once per loop turn."""

    def __init__(self, loop, max_batch: int = MAX_BATCH) -> None:
        self._loop = loop
        self._max_batch = max_batch
        self._pending: list[bytes] = []
        self._scheduled = False
        self._receiver: Receiver | None = None
        self.stats = WireStats()

    def set_receiver(self, receiver: Receiver | None) -> None:
        self._receiver = receiver

    def push(self, packet: bytes) -> None:
        if len(self._pending) >= self._max_batch * 8:
            self.stats.dropped += 1  # bounded: a receiver that stalls cannot make us grow forever
            return
        self.stats.received += 1
        self._pending.append(packet)
        if len(self._pending) >= self._max_batch:
            self._flush()
        elif not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        if self._receiver is not None:
            self._receiver(batch)
