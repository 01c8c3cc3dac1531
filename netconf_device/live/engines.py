"""The engines of one device: the IKE daemon and the PFE, joined through bounded mailboxes.

IKE travels through the PFE like any other traffic (DESIGN.md "data flow"): the PFE punts inbound IKE as
``IkeDatagram`` events, the IKE daemon's ``CallbackTransport`` hands outgoing ones back, and the PFE routes
them out of a WAN interface as IP/UDP packets. Child SAs go IKE -> PFE (``ChildSaInstalled`` /
``ChildSaDeleted``); ``Acquire`` (establish-tunnels on-traffic), ``RekeyRequest`` (sequence or volume
lifetime) and ``SaActivity`` (DPD) go PFE -> IKE.

:meth:`Engines.apply` is the one apply path (DESIGN.md principle 4): the datastore calls it on every
commit, rollback and expired confirmed commit with ``(old, new)`` intents. It refuses what the PFE cannot
carry (the commit then fails with that message), applies the new interfaces and routes to the PFE first
(so IKE can send through them), then the intent diff to the IKE daemon, which deletes removed VPNs (with a
DELETE to the peer), renegotiates changed ones, starts added ones as configured and leaves the rest alone.
Negotiation continues asynchronously after the commit has answered.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections import deque

from netconf_device import sa as contract
from netconf_device.config.intent import Intent, diff_intent
from netconf_device.ike.daemon import CallbackTransport, IkeDaemon
from netconf_device.ike.options import EngineOptions
from netconf_device.live.mailbox import Mailbox
from netconf_device.live.routes import route_key
from netconf_device.pfe.datapath import Datapath
from netconf_device.pfe.runner import PfeRunner

log = logging.getLogger("netconf_device.live")

#: How often the PFE reports SA activity without traffic (DPD "optimized" / "probe-idle-tunnel").
TICK_SECONDS = 1.0
#: IKE SA state changes kept for inspection (``Engines.ike_state_changes``).
STATE_HISTORY = 256
#: Seconds an SA replaced by a rekey keeps accepting inbound packets after the IKE daemon deleted it
#: (strongSwan's ``delete_rekeyed_delay`` idea): packets the peer sent just before it switched still arrive.
REKEYED_INBOUND_GRACE = 2.0


class Engines:
    """IKE daemon + PFE of one device."""

    def __init__(self, device_name: str, *, ike_options: EngineOptions | None = None,
                 mailbox_limit: int = 65536, tick_seconds: float = TICK_SECONDS) -> None:
        self.name = device_name
        # Make-before-break without loss (the PFE's rekey policy, ``Datapath.install``/``retire``): after a
        # rekey the old SA keeps sending until the IKE daemon deletes it -- the rekey responder thus keeps
        # sending on the old SA until the initiator's DELETE says the initiator has the new one (else its
        # first packets on the new SA could overtake the CREATE_CHILD_SA response and be dropped as an
        # invalid SPI), and the initiator switches when it deletes the old SA. A deleted SA that has a
        # successor keeps receiving for REKEYED_INBOUND_GRACE seconds.
        self.datapath = Datapath(device_name, make_before_break=True, retire_grace=REKEYED_INBOUND_GRACE)
        self.to_ike = Mailbox(f"{device_name} PFE->IKE", self._deliver_to_ike, limit=mailbox_limit)
        self.to_pfe = Mailbox(f"{device_name} IKE->PFE", self._deliver_to_pfe, limit=mailbox_limit)
        self.runner = PfeRunner(self.datapath, on_event=self.to_ike.put)
        options = ike_options or EngineOptions(device_name=device_name)
        if options.local_address_for is None:
            options.local_address_for = self.local_address_for
        self.iked = IkeDaemon(options, transport=CallbackTransport(self.to_pfe.put), on_event=self.to_pfe.put)
        self.intent = Intent()
        self.route_since: dict[tuple, float] = {}  # route -> wall-clock time it was installed (show route age)
        self.ike_state_changes: deque[contract.IkeSaStateChanged] = deque(maxlen=STATE_HISTORY)
        self._tick_seconds = tick_seconds
        self._tick_task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------------------------------------ lifecycle
    @property
    def started(self) -> bool:
        return self._loop is not None

    async def start(self) -> None:
        """Bind to the running loop; must run before the first :meth:`apply`."""
        self._loop = asyncio.get_running_loop()
        self.to_ike.bind(self._loop)
        self.to_pfe.bind(self._loop)
        await self.iked.start()
        self._tick_task = self._loop.create_task(self._tick(), name=f"{self.name}-pfe-tick")

    async def stop(self, *, graceful: bool = True) -> None:
        """Delete every IKE SA (DELETE to the peers, sent through the PFE while the wires are open)."""
        if self._loop is None:
            return
        await self.iked.stop(graceful=graceful, timeout=0.5)  # DELETEs and answers pass the mailboxes
        self.to_pfe.drain()
        if self._tick_task is not None:
            self._tick_task.cancel()
        self.runner.close()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self._tick_seconds)
            try:
                self.runner.tick()
            except Exception:  # noqa: BLE001 - periodic work must not stop
                log.exception("PFE tick failed")

    # ------------------------------------------------------------------------------------------ wires
    def attach(self, interface: str, wire) -> None:
        """Connect an opened wire to a physical interface (``et-0/2/10``)."""
        self.runner.attach(interface, wire)

    # ------------------------------------------------------------------------------------------ apply path
    def apply(self, old: Intent, new: Intent) -> None:
        """The datastore's apply callback: raise to refuse the commit, else bring both engines to ``new``."""
        if self._loop is None:
            raise RuntimeError("the engines are not started")
        problems = Datapath.check(new)
        if problems:
            raise ValueError("; ".join(problems))
        diff = diff_intent(old, new)
        self.datapath.apply(diff)
        try:
            self.iked.apply(diff)
        except Exception:
            # The commit fails (the datastore keeps the old configuration), so the engines must not keep
            # half of the new one: the PFE, and as far as it got the IKE daemon, go back to ``old``.
            log.exception("the IKE daemon could not apply the configuration; both engines go back")
            undo = diff_intent(new, old)
            self.datapath.apply(undo)
            try:
                self.iked.apply(undo)
            except Exception:  # noqa: BLE001 - the original error is the one to report
                log.exception("the IKE daemon could not go back to the previous configuration either")
            raise
        if new.system.host_name != self.name:
            self._rename(new.system.host_name)
        self.intent = new
        now = time.time()
        self.route_since = {key: self.route_since.get(key, now)
                            for key in map(route_key, self.datapath.routes)}
        if diff.ipsec_vpns or diff.ike_gateways:
            log.info("applied: VPNs +%d -%d ~%d, gateways +%d -%d ~%d", len(diff.ipsec_vpns.added),
                     len(diff.ipsec_vpns.removed), len(diff.ipsec_vpns.changed), len(diff.ike_gateways.added),
                     len(diff.ike_gateways.removed), len(diff.ike_gateways.changed))

    def _rename(self, name: str) -> None:
        """Log records of both engines carry the device's host name (several devices share a terminal)."""
        self.name = name
        for adapter in (self.iked.engine.log, self.datapath.log):
            extra = getattr(adapter, "extra", None)
            if isinstance(extra, dict):
                extra["device"] = name

    def local_address_for(self, remote) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
        """Source address towards ``remote`` for gateways without external-interface/local-address: the
        address of the interface the PFE's routing table leads to (the device's view, not the host's)."""
        remote = ipaddress.ip_address(remote)
        route = self.datapath.routes.lookup(remote.packed)
        port = self.datapath.interfaces.ports.get(route.interface) if route and route.interface else None
        if port is not None:  # the interface's address on the peer's subnet, if it has one there
            for interface in port.inet if remote.version == 4 else port.inet6:
                if remote in interface.network:
                    return interface.ip
        raw = self.datapath.interfaces.any_address(remote.version, prefer=(port,))
        return ipaddress.ip_address(raw) if raw else None

    # ------------------------------------------------------------------------------------------ events
    def _deliver_to_pfe(self, event: object) -> None:
        if isinstance(event, contract.IkeSaStateChanged):
            self.ike_state_changes.append(event)
            # the IKE daemon logs each establishment and failure itself; this line only repeats it per SA
            log.debug("IKE SA %d (gateway %s) %s%s", event.ike_sa_index, event.gateway, event.state,
                      f": {event.reason}" if event.reason else "")
            return
        self.runner.handle_event(event)

    def is_retiring(self, spi_in: int) -> bool:
        """A deleted SA still accepting late inbound packets (not shown as an SA any more)."""
        return self.datapath.sad.is_retiring(spi_in)

    def _deliver_to_ike(self, event: object) -> None:
        iked = self.iked
        if isinstance(event, contract.IkeDatagram):
            iked.feed(event)
        elif isinstance(event, contract.SaActivity):
            iked.sa_activity(event)
        elif isinstance(event, contract.Acquire):
            iked.acquire(event)
        elif isinstance(event, contract.RekeyRequest):
            iked.rekey_request(event)
        else:
            log.warning("unexpected PFE event %r", type(event).__name__)

    # ------------------------------------------------------------------------------------------ clock
    def now(self) -> float:
        """The engines' clock (the event loop's monotonic time; SA ``created_at`` values use it)."""
        return self._loop.time() if self._loop is not None else 0.0
