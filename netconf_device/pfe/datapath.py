"""The software PFE: a sans-IO, batched packet pipeline.

``Datapath.process(packets, now)`` takes ``[(ingress_interface, packet), ...]`` and returns
``[(egress_interface, packet), ...]``; events for the IKE daemon (punted IKE datagrams, ``Acquire``,
``RekeyRequest``, ``SaActivity``) are collected and handed out by ``drain_events()``. It never touches
sockets or clocks: the asyncio shell (``runner.py`` and ``wires/``) owns those.

Per packet (DESIGN.md "data flow"): ingress accounting -> header checks -> own address? (ESP / IKE /
ICMP echo) : forward -> TTL -> route lookup -> interface or ``st0.N`` -> the VPN's outbound SA -> tunnel
MTU (pre-fragment or ICMP) -> ESP (+ UDP) -> the WAN interface. Inbound ESP: SPI lookup -> encapsulation
rules -> replay check -> decrypt/verify -> replay update -> traffic-selector check -> the inner packet
enters through ``st0.N`` and is routed like any other.

Everything that can be prepared is prepared at ``apply`` / SA install time (interfaces, LPM tables, the
VPN bound to each ``st0`` unit, per-SA AES-GCM objects and header sums). The common cases (IPv4 transit
into a tunnel, IPv4 ESP to the device) take the batched loops in ``fastpath.py``; everything else, and
every error, takes the general per-packet path in this module. Both produce identical packets.
"""

from __future__ import annotations

import ipaddress
import logging
from collections import deque
from collections.abc import Iterable

from netconf_device.config.intent import Intent, IntentDiff, IpsecVpn, diff_intent
from netconf_device.pfe import fastpath, ip, udp_encap
from netconf_device.pfe.counters import CounterStore
from netconf_device.pfe.esp import Drop, max_inner_length, split_key
from netconf_device.pfe.fragment import Reassembler, frag_needed, fragment_ipv4, packet_too_big
from netconf_device.pfe.interfaces import InterfaceTable, Port
from netconf_device.pfe.replay import MAX_WINDOW
from netconf_device.pfe.routes import PREFERENCE, Route, RouteTable
from netconf_device.pfe.sad import Sad, SaPair, build_pair, carry_state, manual_child_sa, same_keys
from netconf_device.sa import (
    Acquire,
    ChildSaDeleted,
    ChildSaInstalled,
    IkeDatagram,
    IkeSaStateChanged,
    RekeyRequest,
    SaActivity,
)

Packet = tuple[str, bytes]

#: Seconds between two Acquire events for the same tunnel (the IKE daemon is negotiating meanwhile).
ACQUIRE_INTERVAL = 1.0
MAX_EVENTS = 65536
#: ICMP errors the device may send: a token bucket (RFC 1812 4.3.2.8 / RFC 4443 2.4 (f) rate limiting).
ICMP_RATE = 1000.0
ICMP_BURST = 200


class Datapath:
    """One device's packet forwarding engine."""

    def __init__(
        self,
        name: str = "pfe",
        *,
        fast_path: bool = True,
        fast_path_impl: str | None = None,
        activity_interval: float = 1.0,
        icmp_rate: float = ICMP_RATE,
        icmp_burst: int = ICMP_BURST,
        max_events: int = MAX_EVENTS,
        make_before_break: bool = False,
        retire_grace: float = 0.0,
    ) -> None:
        self.name = name
        self.log = logging.LoggerAdapter(logging.getLogger("netconf_device.pfe"), {"device": name})
        self.fast_path_enabled = fast_path
        self.counters = CounterStore()
        self.intent = Intent()
        self.interfaces = InterfaceTable(())
        self.routes = RouteTable(())
        self.sad = Sad()
        self.vpns: dict[int, IpsecVpn] = {}
        self.vpn_by_st0: dict[str, IpsecVpn] = {}
        self.ike_ports: frozenset[int] = frozenset((udp_encap.IKE_PORT, udp_encap.NAT_T_PORT))
        self.extra_ike_ports: frozenset[int] = frozenset()
        self.unknown_interface_drops = 0
        self.install_failures = 0  # child SAs from the IKE daemon the PFE could not carry (logged)
        self.events_overflow = 0
        self._events: deque = deque()
        self._max_events = max_events
        self._acquire_sent: dict[int, float] = {}
        self._reassembler = Reassembler()
        self._activity_interval = activity_interval
        self._next_activity = 0.0
        self._icmp_rate = icmp_rate
        self._icmp_burst = icmp_burst
        self._icmp_tokens = float(icmp_burst)
        self._icmp_time: float | None = None
        self._now = 0.0
        #: Rekey policy for the IKE daemon's events (``handle_event``): a new SA that replaces another goes
        #: behind it (the old one keeps sending until deleted), and a deleted SA that has a successor keeps
        #: receiving for ``retire_grace`` seconds. See ``install`` / ``delete`` / ``retire``.
        self.make_before_break = make_before_break
        self.retire_grace = retire_grace
        # "c" (the _espfast extension; the default when it is built) or "python": the same packets.
        self.fast = fastpath.FastTables(fast_path_impl)

    # ================================================================== configuration
    def apply(self, diff: IntentDiff) -> None:
        """Apply a committed configuration change (the one apply path, DESIGN.md principle 4)."""
        # The PFE derives everything from the new intent (cheap, and always consistent); SAs of VPNs that
        # remain stay installed with their sequence numbers -- renegotiation is the IKE daemon's call.
        self._configure(diff.new)

    def apply_intent(self, intent: Intent) -> None:
        self.apply(diff_intent(self.intent, intent))

    def on_commit(self, old: Intent, new: Intent) -> None:
        """The datastore's apply callback (``Datastore.add_apply_callback``): refuse what the PFE cannot
        carry with a clear message (the commit is then rejected), else apply."""
        problems = self.check(new)
        if problems:
            raise ValueError("; ".join(problems))
        self.apply(diff_intent(old, new))

    @staticmethod
    def check(intent: Intent) -> list[str]:
        """What in ``intent`` the PFE cannot do (empty when everything is fine)."""
        problems = []
        for vpn in intent.ipsec_vpns.values():
            if not 0 <= vpn.anti_replay_window <= MAX_WINDOW:
                problems.append(f"ipsec vpn {vpn.name}: anti-replay window {vpn.anti_replay_window} "
                                f"out of range 0..{MAX_WINDOW}")
            if vpn.tunnel_mtu is not None and max_inner_length(vpn.tunnel_mtu, True, True) < 68:
                problems.append(f"ipsec vpn {vpn.name}: tunnel-mtu {vpn.tunnel_mtu} leaves no room for packets")
            if vpn.manual is not None:
                try:
                    split_key(vpn.manual.encryption_algorithm, vpn.manual.key)
                except ValueError as exc:
                    problems.append(f"ipsec vpn {vpn.name} manual SA: {exc}")
        return problems

    def set_ike_ports(self, ports: Iterable[int]) -> None:
        """Extra UDP ports the IKE daemon listens on (custom IKE / NAT-T ports)."""
        self.extra_ike_ports = frozenset(ports)
        self._update_ike_ports()

    def _configure(self, intent: Intent) -> None:
        self.fast.flush()  # counters of removed tunnels retire below: with everything the C loops counted
        self.intent = intent
        self.interfaces = InterfaceTable.from_intent(intent, self.counters)
        live = set(self.interfaces.ports)
        for name in [n for n in self.counters.interfaces if n not in live]:
            del self.counters.interfaces[name]
        self.routes = RouteTable(self.interfaces.connected_routes() + self._static_routes(intent))
        self.vpns = {vpn.tunnel_index: vpn for vpn in intent.ipsec_vpns.values()}
        self.vpn_by_st0 = {vpn.bind_interface: vpn for vpn in intent.ipsec_vpns.values() if vpn.bind_interface}
        # SAs of tunnels that no longer exist go, and their counters retire into the global total.
        for tunnel_index in self.sad.tunnel_indexes():
            if tunnel_index not in self.vpns:
                self.sad.remove_tunnel(tunnel_index)
        for tunnel_index in list(self.counters.tunnels):
            if tunnel_index not in self.vpns:
                self.counters.retire_tunnel(tunnel_index)
                self._acquire_sent.pop(tunnel_index, None)
        for vpn in intent.ipsec_vpns.values():
            self.counters.tunnel(vpn.tunnel_index)
            self._sync_manual_sa(vpn)
        for pair in list(self.sad.pairs.values()):
            self._configure_pair(pair, self.vpns.get(pair.tunnel_index))
        self._update_ike_ports()
        self._rebuild_fast_tables()

    def _static_routes(self, intent: Intent) -> list[Route]:
        connected = RouteTable(self.interfaces.connected_routes())
        routes = []
        for static in intent.static_routes:
            preference = PREFERENCE["static"]
            if static.discard or static.reject:
                routes.append(Route(static.prefix, "discard" if static.discard else "reject",
                                    preference=preference))
                continue
            for next_hop in static.next_hops:
                route = self._resolve_next_hop(static.prefix, next_hop, connected, preference)
                if route is not None:
                    routes.append(route)
                    break
            else:
                self.log.info("static route %s: no usable next hop in %s", static.prefix, static.next_hops)
        return routes

    def _resolve_next_hop(self, prefix, next_hop: str, connected: RouteTable, preference: int) -> Route | None:
        port = self.interfaces.ports.get(next_hop) or self.interfaces.ingress.get(next_hop)
        if port is not None:
            kind = "tunnel" if port.kind == "st0" else "interface"
            return Route(prefix, kind, port.name, preference=preference)
        try:
            gateway = ipaddress.ip_address(next_hop)
        except ValueError:
            return None
        if gateway.version != prefix.version:
            return None
        via = connected.lookup(gateway.packed)
        if via is None or via.kind != "direct":
            return None
        port = self.interfaces.ports[via.interface]
        kind = "tunnel" if port.kind == "st0" else "interface"
        return Route(prefix, kind, port.name, next_hop=gateway.packed, preference=preference)

    def _sync_manual_sa(self, vpn: IpsecVpn) -> None:
        existing = [p for p in self.sad.outbound_pairs(vpn.tunnel_index) if p.manual]
        wanted = manual_child_sa(vpn, self.interfaces)
        if existing and wanted is not None and existing[0].child == wanted:
            return
        for pair in existing:
            self.sad.remove(pair.inbound.spi)
        if wanted is not None:
            try:
                pair = build_pair(wanted, vpn, self.counters.tunnel(vpn.tunnel_index), manual=True)
            except ValueError as exc:
                self.log.warning("manual SA of VPN %s not installed: %s", vpn.name, exc)
                return
            self.sad.add(pair)

    def _configure_pair(self, pair: SaPair, vpn: IpsecVpn | None) -> None:
        """Derive what the configuration decides for an SA: DF policy, egress, tunnel MTU."""
        outbound = pair.outbound
        if vpn is not None:
            outbound.df_policy = vpn.df_bit
        route = self.routes.lookup(outbound.remote)
        egress = None
        if route is not None and route.kind in ("direct", "interface"):
            egress = self.interfaces.ports.get(route.interface)
            if egress is not None and egress.disabled:
                egress = None
        outbound.egress = egress
        mtu = egress.mtu if egress is not None else 1500
        if vpn is not None and vpn.tunnel_mtu:
            mtu = min(mtu, vpn.tunnel_mtu)
        outbound.set_outer_mtu(mtu)
        pair.inbound.bind_interface = vpn.bind_interface if vpn else None
        bind = self.interfaces.ports.get(vpn.bind_interface) if vpn and vpn.bind_interface else None
        pair.st0 = bind

    def _update_ike_ports(self) -> None:
        ports = {udp_encap.IKE_PORT, udp_encap.NAT_T_PORT} | set(self.extra_ike_ports)
        for vpn in self.intent.ipsec_vpns.values():
            if vpn.udp_encapsulation is not None:
                ports.add(vpn.udp_encapsulation.destination_port)
        for pair in self.sad.pairs.values():
            if pair.inbound.encap is not None:
                ports.add(pair.inbound.encap_port)
        self.ike_ports = frozenset(ports)

    def _rebuild_fast_tables(self) -> None:
        self.fast.rebuild(self)

    # ================================================================== IKE <-> PFE events
    def handle_event(self, event, now: float = 0.0) -> list[Packet]:
        """Accept an event from the IKE daemon; returns packets to send (for ``IkeDatagram``)."""
        if isinstance(event, ChildSaInstalled):
            try:
                self.install(event)
            except ValueError as exc:  # an SA the PFE cannot carry: say so, keep forwarding everything else
                self.install_failures += 1
                self.log.error("child SA in 0x%08x out 0x%08x of tunnel %d not installed: %s", event.sa.spi_in,
                               event.sa.spi_out, event.sa.tunnel_index, exc)
        elif isinstance(event, ChildSaDeleted):
            self.delete(event, now=now)
        elif isinstance(event, IkeDatagram):
            return self.send_ike(event, now)
        elif isinstance(event, IkeSaStateChanged):
            pass
        else:
            raise TypeError(f"not an IKE -> PFE event: {event!r}")
        return []

    def install(self, event: ChildSaInstalled, *, make_before_break: bool | None = None) -> None:
        """Install a child SA pair (``make_before_break`` None: the datapath's policy).

        * The SPI is installed already with the same keys: the same SA with new endpoints or encapsulation
          (a NAT rebinding). It keeps its sequence number, anti-replay window, lifetime usage and place.
        * ``make_before_break`` and ``event.replaces_spi_in`` names a sending pair of the tunnel: the new
          pair goes right behind it, so the old SA keeps sending until it is deleted (``delete``/``retire``)
          and the peer has the new one before our first packet on it arrives.
        * Otherwise the new pair goes first: the tunnel sends on it at once.
        """
        child = event.sa
        vpn = self.vpns.get(child.tunnel_index)
        pair = build_pair(child, vpn, self.counters.tunnel(child.tunnel_index))
        self._configure_pair(pair, vpn)
        existing = self.sad.pairs.get(child.spi_in)
        self._acquire_sent.pop(child.tunnel_index, None)
        if existing is not None and same_keys(existing.child, child):
            self.fast.flush_pair(existing)
            carry_state(existing, pair)
            self.sad.replace(existing, pair)
            self.fast.sa_removed(existing)
            self.fast.sa_added(pair)
            self._update_ike_ports()
            self.log.info("SA pair in 0x%08x out 0x%08x tunnel %d: endpoints now %s -> %s%s", child.spi_in,
                          child.spi_out, child.tunnel_index, child.local_address, child.remote_address,
                          f" (UDP {child.encap.source_port} -> {child.encap.destination_port})" if child.encap
                          else "")
            return
        if existing is not None:
            self.log.warning("SPI 0x%08x installed again with other keys: replacing the SA", child.spi_in)
        if make_before_break is None:
            make_before_break = self.make_before_break
        after = None
        replaced_spi = event.replaces_spi_in
        if make_before_break and replaced_spi is not None and replaced_spi != child.spi_in:
            old = self.sad.pairs.get(replaced_spi)
            if (old is not None and old.tunnel_index == child.tunnel_index
                    and not self.sad.is_retiring(replaced_spi)):
                after = old
        self.sad.add(pair, after=after)
        if pair.inbound.encap is not None and pair.inbound.encap_port not in self.ike_ports:
            self.ike_ports = self.ike_ports | {pair.inbound.encap_port}
        if existing is not None:
            self.fast.sa_removed(existing)
        self.fast.sa_added(pair)
        self.log.debug("installed SA pair in 0x%08x out 0x%08x tunnel %d%s", child.spi_in, child.spi_out,
                       child.tunnel_index, " behind the SA it replaces" if after is not None else "")

    def delete(self, event: ChildSaDeleted, *, now: float | None = None, grace: float | None = None) -> None:
        """Remove a child SA pair. With a grace period (``grace`` None: the datapath's ``retire_grace``; it
        needs ``now``) a pair whose tunnel has another SA retires instead (``retire``)."""
        if grace is None:
            grace = self.retire_grace
        if grace > 0 and now is not None and self.retire(event.spi_in, grace, now):
            return
        self._remove_pair(event.spi_in)

    def retire(self, spi_in: int, grace: float, now: float) -> bool:
        """Stop sending on an SA whose tunnel has another sending SA, and keep accepting its inbound
        packets for ``grace`` seconds (the peer may have sent some just before it switched). Returns False,
        changing nothing, when the tunnel has no other SA to send on (the caller then deletes it)."""
        pair = self.sad.pairs.get(spi_in)
        if pair is None:
            return False
        if self.sad.is_retiring(spi_in):
            return True  # retiring already: its first deadline stands
        if not any(p is not pair for p in self.sad.outbound_pairs(pair.tunnel_index)):
            return False
        self.sad.retire(spi_in, now + grace)
        self.fast.sas_changed()  # the tunnel's sending pair changed; its inbound half stays in the tables
        return True

    def _remove_pair(self, spi_in: int) -> None:
        pair = self.sad.remove(spi_in)
        if pair is not None:
            self.fast.sa_removed(pair)
            if pair.inbound.encap is not None:
                self._update_ike_ports()

    def _expire_retired(self, now: float) -> None:
        for pair in self.sad.expire(now):
            self.fast.sa_removed(pair)
            if pair.inbound.encap is not None:
                self._update_ike_ports()

    def send_ike(self, datagram: IkeDatagram, now: float | None = None) -> list[Packet]:
        """Build the IP/UDP packet for an outbound IKE message and route it."""
        if now is not None:
            self._now = now
        payload = (udp_encap.NON_ESP_MARKER + datagram.payload) if datagram.non_esp_marker else datagram.payload
        src, dst = datagram.src.packed, datagram.dst.packed
        packet = ip.ip_packet(src, dst, ip.PROTO_UDP,
                              ip.udp_datagram(src, dst, datagram.sport, datagram.dport, payload))
        out: list[Packet] = []
        self._originate(packet, out)
        return out

    def drain_events(self) -> list:
        events = list(self._events)
        self._events.clear()
        return events

    def _emit(self, event) -> None:
        if len(self._events) >= self._max_events:
            self.events_overflow += 1
            return
        self._events.append(event)

    def _acquire(self, vpn: IpsecVpn, packet: bytes) -> None:
        last = self._acquire_sent.get(vpn.tunnel_index)
        if last is not None and self._now - last < ACQUIRE_INTERVAL:
            return
        self._acquire_sent[vpn.tunnel_index] = self._now
        if packet[0] >> 4 == 4:
            src, dst = packet[12:16], packet[16:20]
        else:
            src, dst = packet[8:24], packet[24:40]
        self._emit(Acquire(vpn.tunnel_index, vpn.name, ipaddress.ip_address(src), ipaddress.ip_address(dst)))

    def _request_rekey(self, pair_spi_in: int, tunnel_index: int, reason: str, sent: set[str]) -> None:
        if reason in sent:
            return
        sent.add(reason)
        self._emit(RekeyRequest(tunnel_index, pair_spi_in, reason))  # type: ignore[arg-type]

    def _report_activity(self, now: float) -> None:
        if now < self._next_activity:
            return
        self._next_activity = now + self._activity_interval
        self.fast.flush()
        for pair in self.sad.pairs.values():
            seen = (pair.inbound.last_used, pair.outbound.last_used)
            if seen != pair.reported_activity and seen != (None, None):
                pair.reported_activity = seen
                self._emit(SaActivity(pair.inbound.spi, seen[0], seen[1]))

    def sa_activity(self, spi_in: int) -> SaActivity | None:
        pair = self.sad.pairs.get(spi_in)
        if pair is None:
            return None
        self.fast.flush_pair(pair)
        return SaActivity(spi_in, pair.inbound.last_used, pair.outbound.last_used)

    # ================================================================== state for show commands
    def ipsec_statistics(self, tunnel_index: int | None = None) -> dict[str, int]:
        """``usp-ipsec-total-statistics-information`` values; KeyError for an unknown tunnel index."""
        self.fast.flush()
        return self.counters.ipsec_snapshot(tunnel_index)

    def ipsec_statistics_by_tunnel(self) -> dict[int, dict[str, int]]:
        """Per tunnel index counters of every configured (or SA-carrying) tunnel."""
        self.fast.flush()
        return {index: counters.as_dict() for index, counters in self.counters.tunnels.items()}

    def sa_usage(self, spi_in: int) -> dict[str, int] | None:
        """Traffic accounted against an SA pair's lifetimes (bytes are inner bytes, per direction).

        Only SAs with a byte or packet lifetime are metered (others never expire by volume).
        """
        pair = self.sad.pairs.get(spi_in)
        if pair is None:
            return None
        return {
            "inbound_bytes": pair.inbound.lifetime.bytes,
            "inbound_packets": pair.inbound.lifetime.packets,
            "outbound_bytes": pair.outbound.lifetime.bytes,
            "outbound_packets": pair.outbound.lifetime.packets,
            "outbound_sequence": pair.outbound.seq,
            "inbound_highest_sequence": pair.inbound.replay.top,
        }

    def clear_ipsec_statistics(self, tunnel_index: int | None = None) -> None:
        self.fast.flush()  # what the C loops still hold is cleared too
        self.counters.clear_ipsec(tunnel_index)

    def interface_statistics(self, name: str | None = None) -> dict[str, dict[str, int]]:
        self.fast.flush()
        return self.counters.interface_snapshot(name)

    def clear_interface_statistics(self, name: str | None = None) -> None:
        self.fast.flush()
        self.counters.clear_interfaces(name)

    def tunnel_up(self, tunnel_index: int) -> bool:
        return bool(self.sad.outbound_pairs(tunnel_index))

    def interface_oper_up(self, name: str) -> bool:
        """Link state as ``show interfaces terse`` shows it: st0 units follow their tunnel."""
        port = self.interfaces.ports.get(name)
        if port is None or port.disabled:
            return False
        if port.kind == "st0":
            vpn = self.vpn_by_st0.get(name)
            return vpn is not None and self.tunnel_up(vpn.tunnel_index)
        return True

    # ================================================================== the pipeline
    def process(self, packets: list[Packet], now: float) -> list[Packet]:
        """Run a batch of received packets through the PFE; returns the packets to transmit."""
        self._now = now
        if now >= self.sad.next_expiry:
            self._expire_retired(now)
        out: list[Packet] = []
        if self.fast_path_enabled and packets:
            slow = self.fast.run(self, packets, now, out)
        else:
            slow = packets
        receive = self._receive_external
        for ifname, packet in slow:
            receive(ifname, packet, out)
        self._report_activity(now)
        return out

    def _receive_external(self, ifname: str, packet: bytes, out: list[Packet]) -> None:
        port = self.interfaces.ingress.get(ifname)
        if port is None:
            self.unknown_interface_drops += 1
            return
        counters = port.counters
        counters.input_packets += 1
        counters.input_bytes += len(packet)
        if port.disabled:
            counters.input_drops += 1
            return
        self._receive(port, packet, out)

    def _receive(self, port: Port, packet: bytes, out: list[Packet]) -> None:
        """A packet that entered through ``port`` (a physical wire or, after decryption, ``st0.N``)."""
        packet = _valid_ip(packet)
        if packet is None:
            port.counters.input_errors += 1
            return
        if packet[0] >> 4 == 4:
            dst = packet[16:20]
            unicast = dst[0] < 224 and dst[0] != 0
        else:
            dst = packet[24:40]
            unicast = dst[0] != 0xFF
        if dst in self.interfaces.own:
            self._local_in(port, packet, out)
        elif unicast:
            self._forward(port, packet, out)
        else:
            port.counters.input_drops += 1  # no multicast/broadcast forwarding

    def _forward(self, port: Port, packet: bytes, out: list[Packet]) -> None:
        v4 = packet[0] >> 4 == 4
        if (packet[8] if v4 else packet[7]) <= 1:
            if v4:
                self._icmp_error(port, packet, ip.ICMP_TIME_EXCEEDED, 0, out=out)
            else:
                self._icmp_error(port, packet, ip.ICMP6_TIME_EXCEEDED, 0, out=out)
            return
        route = self.routes.lookup(packet[16:20] if v4 else packet[24:40])
        if route is None or route.kind == "reject":
            if v4:
                self._icmp_error(port, packet, ip.ICMP_UNREACHABLE, ip.ICMP_UNREACH_NET, out=out)
            else:
                self._icmp_error(port, packet, ip.ICMP6_UNREACHABLE, ip.ICMP6_UNREACH_NO_ROUTE, out=out)
            return
        if route.kind == "discard":
            return
        if route.kind == "local":  # an own address we did not recognise above cannot happen; be safe
            self._local_in(port, packet, out)
            return
        egress = self.interfaces.ports.get(route.interface)
        if egress is None:
            return
        packet = ip.decrement_ttl(packet)
        if egress.kind == "st0":
            self._to_tunnel(egress, packet, port, out)
        else:
            self._output(egress, packet, port, out)

    def _output(self, egress: Port, packet: bytes, ingress: Port | None, out: list[Packet]) -> None:
        counters = egress.counters
        if egress.disabled:
            counters.output_drops += 1
            return
        pieces = [packet]
        if len(packet) > egress.mtu:
            v4 = packet[0] >> 4 == 4
            if v4 and not packet[6] & 0x40:
                pieces = fragment_ipv4(packet, egress.mtu)
                if pieces is None:
                    counters.output_drops += 1
                    return
            else:
                counters.output_drops += 1
                if ingress is not None:  # frag-needed (IPv4 with DF) or Packet Too Big (IPv6)
                    self._icmp_error(ingress, packet, None, 0, mtu=egress.mtu, out=out)
                return
        name = egress.physical
        for piece in pieces:
            out.append((name, piece))
            counters.output_packets += 1
            counters.output_bytes += len(piece)

    def _select_outbound(self, tunnel_index: int, packet: bytes) -> SaPair | None:
        pairs = self.sad.by_tunnel.get(tunnel_index)
        if not pairs:
            return None
        if len(pairs) == 1:
            pair = pairs[0]
            return pair if _outbound_permits(pair, packet) else None
        for pair in pairs:
            if _outbound_permits(pair, packet):
                return pair
        return None

    def _to_tunnel(self, st0: Port, packet: bytes, ingress: Port | None, out: list[Packet]) -> None:
        """Encrypt a packet routed into ``st0.N`` with the bound VPN's outbound SA."""
        vpn = self.vpn_by_st0.get(st0.name)
        st0_counters = st0.counters
        if vpn is None or st0.disabled:
            st0_counters.output_drops += 1
            return
        pair = self._select_outbound(vpn.tunnel_index, packet)
        if pair is None:
            st0_counters.output_drops += 1
            if not self.sad.by_tunnel.get(vpn.tunnel_index):
                self._acquire(vpn, packet)
            else:
                self.counters.tunnel(vpn.tunnel_index).drop("discard_errors")
            return
        sa = pair.outbound
        tunnel = sa.counters
        st0_counters.output_packets += 1
        st0_counters.output_bytes += len(packet)
        limit = min(sa.max_inner, st0.mtu)
        pieces = [packet]
        v4 = packet[0] >> 4 == 4
        if len(packet) > limit:
            if v4 and not packet[6] & 0x40:
                pieces = fragment_ipv4(packet, limit)
            else:
                pieces = None
            if pieces is None:
                tunnel.drop("exceeds_tunnel_mtu")
                if ingress is not None:
                    self._icmp_error(ingress, packet, None, 0, mtu=limit, out=out)
                return
        egress = sa.egress
        if egress is None:
            tunnel.drop("discard_errors")
            return
        nbytes = sum(map(len, pieces))
        lifetime = sa.lifetime
        if lifetime.limited:
            expired = lifetime.exceeded_by(len(pieces), nbytes)
            if expired:  # the SA has carried all it may: drop until the IKE daemon installs the next
                tunnel.drop("discard_errors", len(pieces))
                self._request_rekey(sa.spi_in, sa.tunnel_index, expired, sa.rekey_events_sent)
                return
        name = egress.physical
        wan = egress.counters
        for piece in pieces:
            try:
                outer = sa.encapsulate(piece)
            except Drop as drop:
                tunnel.drop(drop.reason)
                self._request_rekey(sa.spi_in, sa.tunnel_index, "sequence", sa.rekey_events_sent)
                return
            tunnel.esp_encrypted_packets += 1
            tunnel.esp_encrypted_bytes += len(outer)
            out.append((name, outer))
            wan.output_packets += 1
            wan.output_bytes += len(outer)
        sa.last_used = self._now
        self._after_outbound(sa, len(pieces), nbytes)

    def _after_outbound(self, sa, packets: int, nbytes: int) -> None:
        if sa.seq >= sa.seq_soft:
            self._request_rekey(sa.spi_in, sa.tunnel_index, "sequence", sa.rekey_events_sent)
        if sa.lifetime.limited:
            reason = sa.lifetime.consume(packets, nbytes)
            if reason:
                self._request_rekey(sa.spi_in, sa.tunnel_index, reason, sa.rekey_events_sent)

    def _after_inbound(self, sa, packets: int, nbytes: int) -> None:
        reason = sa.lifetime.consume(packets, nbytes)
        if reason:
            self._request_rekey(sa.spi, sa.tunnel_index, reason, sa.rekey_events_sent)

    # ------------------------------------------------------------------ local delivery
    def _local_in(self, port: Port, packet: bytes, out: list[Packet]) -> None:
        if packet[0] >> 4 == 4:
            proto = packet[9]
            offset = (packet[0] & 0x0F) * 4
            fragment = bool(packet[6] & 0x3F or packet[7])
        else:
            upper = ip.ipv6_upper_layer(packet)
            if upper is None:
                port.counters.input_errors += 1
                return
            proto, offset, fragment = upper
        if fragment:
            if proto == ip.PROTO_ESP:
                # The seed: no reassembly of fragments before decryption.
                self.counters.unattributed.drop("bad_headers")
                return
            whole = self._reassembler.add(packet, self._now)
            if whole is None:
                return
            self._local_in(port, whole, out)
            return
        if proto == ip.PROTO_ESP:
            self._esp_in(packet, packet[offset:], None, out)
        elif proto == ip.PROTO_UDP:
            self._udp_in(port, packet, offset, out)
        elif proto in (ip.PROTO_ICMP, ip.PROTO_ICMPV6):
            if len(packet) > offset and packet[offset] in (ip.ICMP_ECHO_REQUEST, ip.ICMP6_ECHO_REQUEST):
                if (proto == ip.PROTO_ICMP) == (packet[0] >> 4 == 4):
                    reply = ip.icmp_echo_reply(packet)
                    if reply is not None:
                        self._originate(reply, out)
        # Other protocols to the device: nothing listens; dropped silently like a firewall filter would.

    def _udp_in(self, port: Port, packet: bytes, offset: int, out: list[Packet]) -> None:
        if len(packet) < offset + 8:
            port.counters.input_errors += 1
            return
        sport = (packet[offset] << 8) | packet[offset + 1]
        dport = (packet[offset + 2] << 8) | packet[offset + 3]
        length = (packet[offset + 4] << 8) | packet[offset + 5]
        if length < 8 or offset + length > len(packet):
            port.counters.input_errors += 1
            return
        payload = packet[offset + 8:offset + length]
        kind = udp_encap.classify(dport, payload, self.ike_ports, self._is_encap_spi)
        if kind == "esp":
            self._esp_in(packet, payload, dport, out)
            return
        if kind == "keepalive":
            return
        v4 = packet[0] >> 4 == 4
        src, dst = (packet[12:16], packet[16:20]) if v4 else (packet[8:24], packet[24:40])
        if kind == "other":
            if v4:
                self._icmp_error(port, packet, ip.ICMP_UNREACHABLE, ip.ICMP_UNREACH_PORT, out=out)
            else:
                self._icmp_error(port, packet, ip.ICMP6_UNREACHABLE, ip.ICMP6_UNREACH_PORT, out=out)
            return
        if not ip.udp_checksum_ok(src, dst, packet[offset:offset + length]):
            port.counters.input_errors += 1
            return
        marker = kind == "ike-marker"
        self._emit(
            IkeDatagram(
                src=ipaddress.ip_address(src),
                dst=ipaddress.ip_address(dst),
                sport=sport,
                dport=dport,
                payload=payload[4:] if marker else payload,
                non_esp_marker=marker,
                ingress_interface=port.name,
            )
        )

    def _is_encap_spi(self, spi: int) -> bool:
        sa = self.sad.inbound.get(spi)
        return sa is not None and sa.encap is not None

    def _esp_in(self, outer: bytes, esp: bytes, udp_dport: int | None, out: list[Packet]) -> None:
        if len(esp) < 8:
            self.counters.unattributed.drop("bad_headers")
            return
        spi = int.from_bytes(esp[:4], "big")
        sa = self.sad.inbound.get(spi)
        if sa is None:
            self.counters.unattributed.drop("invalid_spi_errors")
            return
        tunnel = sa.counters
        violation = udp_encap.inbound_encap_violation(sa.encap, sa.encap_port, sa.encap_port_configured,
                                                      udp_dport)
        if violation:
            tunnel.drop(violation)
            return
        try:
            result = sa.decapsulate(esp)
        except Drop as drop:
            tunnel.drop(drop.reason)
            return
        if result is None:
            return  # TFC dummy packet (next header 59)
        inner, _seq = result
        if not sa.permits(inner):
            tunnel.drop("ts_check_fail_errors")
            return
        tunnel.esp_decrypted_packets += 1
        tunnel.esp_decrypted_bytes += len(inner)
        sa.last_used = self._now
        if sa.lifetime.limited:
            self._after_inbound(sa, 1, len(inner))
        inner = ip.propagate_ecn(outer, inner)
        pair = self.sad.pairs.get(spi)
        st0 = pair.st0 if pair is not None else None
        if st0 is None:
            # No bound st0 unit (manual SA without bind-interface): route from the WAN side.
            st0 = self.interfaces.own.get(outer[16:20] if outer[0] >> 4 == 4 else outer[24:40])
            if st0 is None:
                return
        else:
            st0.counters.input_packets += 1
            st0.counters.input_bytes += len(inner)
        self._receive(st0, inner, out)

    # ------------------------------------------------------------------ locally originated packets
    def _originate(self, packet: bytes, out: list[Packet]) -> None:
        route = self.routes.lookup(packet[16:20] if packet[0] >> 4 == 4 else packet[24:40])
        if route is None or route.kind in ("discard", "reject", "local"):
            return
        egress = self.interfaces.ports.get(route.interface)
        if egress is None:
            return
        if egress.kind == "st0":
            self._to_tunnel(egress, packet, None, out)
        else:
            self._output(egress, packet, None, out)

    def _icmp_error(self, port: Port | None, offending: bytes, icmp_type: int | None, code: int, *,
                    mtu: int | None = None, out: list[Packet]) -> None:
        """Send an ICMP/ICMPv6 error about ``offending`` (rate limited; never about errors)."""
        if not ip.may_send_error_about(offending) or not self._icmp_allowed():
            return
        version = offending[0] >> 4
        source = offending[12:16] if version == 4 else offending[8:24]
        route = self.routes.lookup(source)
        toward_source = self.interfaces.ports.get(route.interface) if route and route.interface else None
        router = self.interfaces.any_address(version, prefer=(port, toward_source))
        if router is None:
            return
        if mtu is not None:
            message = frag_needed(router, offending, mtu) if version == 4 else packet_too_big(router, offending, mtu)
        else:
            message = ip.icmp_error(router, offending, icmp_type, code)
        self._originate(message, out)

    def _icmp_allowed(self) -> bool:
        now = self._now
        if self._icmp_time is not None:
            self._icmp_tokens = min(self._icmp_burst, self._icmp_tokens + (now - self._icmp_time) * self._icmp_rate)
        self._icmp_time = now
        if self._icmp_tokens < 1:
            return False
        self._icmp_tokens -= 1
        return True


def _valid_ip(packet: bytes) -> bytes | None:
    """The packet trimmed to its IP length, or None when its header is malformed."""
    length = len(packet)
    if length < 20:
        return None
    version = packet[0] >> 4
    if version == 4:
        ihl = (packet[0] & 0x0F) * 4
        total = (packet[2] << 8) | packet[3]
        if ihl < 20 or total < ihl or total > length:
            return None
        if int.from_bytes(packet[:ihl], "big") % 0xFFFF:  # header checksum (see ip.checksum)
            return None
    elif version == 6:
        if length < 40:
            return None
        total = 40 + ((packet[4] << 8) | packet[5])
        if total > length:
            return None
    else:
        return None
    return packet if total == length else packet[:total]


def _outbound_permits(pair: SaPair, packet: bytes) -> bool:
    sa = pair.outbound
    if packet[0] >> 4 == 4:
        return sa.local_ts.contains(packet[12:16]) and sa.remote_ts.contains(packet[16:20])
    return sa.local_ts.contains(packet[8:24]) and sa.remote_ts.contains(packet[24:40])
