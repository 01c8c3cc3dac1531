"""Two wire endpoints joined inside one process (a patch cable between a PFE and a host, in tests)."""

from __future__ import annotations

import asyncio

from netconf_device.pfe.wires import MAX_BATCH, BatchingReceiver, Receiver, WireStats


class PipeEnd:
    def __init__(self, name: str = "") -> None:
        self.name = name
        self.peer: PipeEnd | None = None
        self._batcher = BatchingReceiver(asyncio.get_running_loop(), MAX_BATCH)

    @property
    def stats(self) -> WireStats:
        return self._batcher.stats

    def set_receiver(self, receiver: Receiver | None) -> None:
        self._batcher.set_receiver(receiver)

    def send(self, packet: bytes) -> None:
        if self.peer is None:
            self._batcher.stats.dropped += 1
            return
        self._batcher.stats.sent += 1
        self.peer._batcher.push(bytes(packet))

    def send_many(self, packets) -> None:
        for packet in packets:
            self.send(packet)

    def close(self) -> None:
        if self.peer is not None:
            self.peer.peer = None
        self.peer = None


def pipe_pair(name_a: str = "a", name_b: str = "b") -> tuple[PipeEnd, PipeEnd]:
    """Two connected endpoints (call from within a running event loop)."""
    a, b = PipeEnd(name_a), PipeEnd(name_b)
    a.peer, b.peer = b, a
    return a, b
