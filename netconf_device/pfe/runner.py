"""The asyncio shell around the sans-IO datapath: wires in, ``Datapath.process``, wires out.

A ``PfeRunner`` owns the clock (the event loop's monotonic time) and the mapping from interface names
to wires. Packets a wire delivers are processed as one batch; egress packets are handed to the wire of
their interface; events (punted IKE, Acquire, RekeyRequest, SaActivity) go to ``on_event``. The device
(``device.py``) connects ``on_event`` to the IKE daemon and calls ``handle_event`` with what the daemon
emits (child SAs, IKE datagrams to send).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from netconf_device.pfe.datapath import Datapath
from netconf_device.pfe.tuning import tune_allocator

log = logging.getLogger("netconf_device.pfe.runner")


class PfeRunner:
    def __init__(self, datapath: Datapath, *, on_event: Callable[[object], None] | None = None,
                 clock: Callable[[], float] | None = None, tune: bool = True) -> None:
        self.datapath = datapath
        self.on_event = on_event
        self._clock = clock
        self.wires: dict[str, object] = {}
        self.unrouted = 0  # egress packets for an interface without a wire
        self.failed_batches = 0
        if tune:
            tune_allocator()

    def now(self) -> float:
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    def attach(self, interface: str, wire) -> None:
        """Connect ``wire`` to a physical interface ("et-0/1/8")."""
        self.wires[interface] = wire
        wire.set_receiver(lambda packets, name=interface: self.receive(name, packets))

    def detach(self, interface: str) -> None:
        wire = self.wires.pop(interface, None)
        if wire is not None:
            wire.set_receiver(None)

    def receive(self, interface: str, packets: list[bytes]) -> None:
        try:
            out = self.datapath.process([(interface, packet) for packet in packets], self.now())
        except Exception:  # a datapath bug loses this batch, never the device
            self.failed_batches += 1
            log.exception("PFE %s: batch of %d packets from %s failed", self.datapath.name, len(packets), interface)
            return
        self.transmit(out)
        self._deliver_events()

    def handle_event(self, event) -> None:
        """An event from the IKE daemon (ChildSaInstalled/Deleted, IkeDatagram to send, ...)."""
        self.transmit(self.datapath.handle_event(event, self.now()))
        self._deliver_events()

    def tick(self) -> None:
        """Let periodic work run without traffic (activity reports)."""
        self.transmit(self.datapath.process([], self.now()))
        self._deliver_events()

    def transmit(self, out: list[tuple[str, bytes]]) -> None:
        wires = self.wires
        for interface, packet in out:
            wire = wires.get(interface)
            if wire is None:
                self.unrouted += 1
                continue
            wire.send(packet)

    def _deliver_events(self) -> None:
        events = self.datapath.drain_events()
        if events and self.on_event is not None:
            for event in events:
                try:
                    self.on_event(event)
                except Exception:  # an event consumer's bug must not stop packet forwarding
                    log.exception("PFE event consumer failed on %r", event)

    def close(self) -> None:
        for wire in self.wires.values():
            wire.close()
        self.wires.clear()
