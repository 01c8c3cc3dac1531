"""The security association database: inbound SAs by SPI, outbound SAs by tunnel index.

A ``ChildSa`` from the IKE daemon (or a manual SA from the configuration) becomes an ``SaPair``: an
``InboundSa`` keyed by the SPI we chose and an ``OutboundSa`` used for the VPN's tunnel index. Each
tunnel has a list of *sending* pairs, preferred first; several pairs with different traffic selectors may
serve one tunnel, and outbound selection then takes the first whose selectors match the inner packet.

Three ways a pair changes (``Datapath.install`` / ``delete`` / ``retire`` decide which):

* a rekey installs a new pair, either first in the list (sent on at once) or right after the pair it
  replaces (make-before-break: the old one keeps sending until it is deleted);
* an install for an SPI that is already there with the same keys is the same SA with new endpoints (the
  peer's NAT mapping moved): the pair is rebuilt for the new encapsulation and keeps its place, sequence
  number, anti-replay window and lifetime counters (``carry_state``) -- a restarted sequence number would
  make the peer's anti-replay drop everything we send;
* a *retiring* pair has left the sending list but still receives until its deadline (late packets the
  peer sent before it switched to the successor), then it goes.
"""

from __future__ import annotations

import heapq
import ipaddress
import logging
import math
from dataclasses import dataclass

from netconf_device.config.intent import IpsecVpn
from netconf_device.pfe.counters import IpsecCounters
from netconf_device.pfe.esp import ICV_LENGTH, InboundSa, OutboundSa, TrafficSelectors
from netconf_device.pfe.interfaces import InterfaceTable, Port
from netconf_device.pfe.replay import Lifetime
from netconf_device.sa import ChildSa, UdpEncap

log = logging.getLogger("netconf_device.pfe.sad")

#: Junos' default service-set UDP-encapsulation destination port (the seed).
DEFAULT_UDP_ENCAP_PORT = 500


@dataclass(eq=False)
class SaPair:
    child: ChildSa
    inbound: InboundSa
    outbound: OutboundSa
    manual: bool = False
    #: The st0 unit the VPN is bound to (decrypted packets enter there); set from the configuration.
    st0: Port | None = None
    #: (last inbound, last outbound) as last reported in an ``SaActivity`` event.
    reported_activity: tuple = (None, None)

    @property
    def tunnel_index(self) -> int:
        return self.child.tunnel_index

    @property
    def selectors_key(self) -> tuple:
        return (self.child.local_ts, self.child.remote_ts)


def build_pair(child: ChildSa, vpn: IpsecVpn | None, counters: IpsecCounters, *, manual: bool = False) -> SaPair:
    """Precompute both SAs of a child SA. Raises ValueError for what the PFE cannot do."""
    if child.icv_length != ICV_LENGTH:
        raise ValueError(f"ICV length {child.icv_length} not supported (AES-GCM with a 16-byte ICV only)")
    if child.local_address is None or child.remote_address is None:
        raise ValueError("child SA without tunnel endpoint addresses")
    if child.local_address.version != child.remote_address.version:
        raise ValueError("tunnel endpoints of different address families")
    local_ts = TrafficSelectors(child.local_ts)
    remote_ts = TrafficSelectors(child.remote_ts)
    encap: UdpEncap | None = child.encap
    outbound = OutboundSa(
        spi=child.spi_out,
        spi_in=child.spi_in,
        algorithm=child.encryption_algorithm,
        key=child.key_out,
        local=child.local_address.packed,
        remote=child.remote_address.packed,
        tunnel_index=child.tunnel_index,
        vpn_name=child.vpn_name,
        counters=counters,
        esn=child.esn,
        encap=encap.kind if encap else None,
        sport=encap.source_port if encap else 0,
        dport=encap.destination_port if encap else 0,
        df_policy=vpn.df_bit if vpn else "copy",
        lifetime=Lifetime(child.lifetime_bytes, child.lifetime_packets),
        local_ts=local_ts,
        remote_ts=remote_ts,
    )
    if encap is None:
        expected_port, configured = 0, True
    elif encap.kind == "nat-t":
        expected_port, configured = encap.source_port, True  # our end of the floated NAT-T port pair
    else:
        expected_port = encap.destination_port
        configured = expected_port != DEFAULT_UDP_ENCAP_PORT
    window = 0 if manual or vpn is None else vpn.anti_replay_window
    inbound = InboundSa(
        spi=child.spi_in,
        spi_out=child.spi_out,
        algorithm=child.encryption_algorithm,
        key=child.key_in,
        tunnel_index=child.tunnel_index,
        vpn_name=child.vpn_name,
        counters=counters,
        esn=child.esn,
        replay_window=window,
        encap=encap.kind if encap else None,
        encap_port=expected_port,
        encap_port_configured=configured,
        local_ts=local_ts,
        remote_ts=remote_ts,
        lifetime=Lifetime(child.lifetime_bytes, child.lifetime_packets),
        bind_interface=vpn.bind_interface if vpn else None,
    )
    # One RekeyRequest per reason for the pair, whichever direction crosses the limit first.
    inbound.rekey_events_sent = outbound.rekey_events_sent
    return SaPair(child=child, inbound=inbound, outbound=outbound, manual=manual)


def manual_child_sa(vpn: IpsecVpn, interfaces: InterfaceTable) -> ChildSa | None:
    """The child SA a manual-SA VPN stands for (same SPI and key in both directions, as on Junos)."""
    manual = vpn.manual
    if manual is None:
        return None
    local = manual.local_address
    if local is None and manual.external_interface:
        name = manual.external_interface
        port = interfaces.ports.get(name) or interfaces.ingress.get(name)
        if port is not None:
            raw = port.address(manual.gateway.version)
            local = ipaddress.ip_address(raw) if raw else None
    if local is None:
        log.warning("manual SA of VPN %s: no local address for the tunnel", vpn.name)
        return None
    encap = None
    if vpn.udp_encapsulation is not None:
        port = vpn.udp_encapsulation.destination_port
        encap = UdpEncap(kind="service-set", source_port=0, destination_port=port)
    return ChildSa(
        tunnel_index=vpn.tunnel_index,
        vpn_name=vpn.name,
        spi_in=manual.spi,
        spi_out=manual.spi,
        encryption_algorithm=manual.encryption_algorithm,
        key_in=manual.key,
        key_out=manual.key,
        local_address=local,
        remote_address=manual.gateway,
        esn=vpn.extended_sequence_number,
        encap=encap,
    )


def same_keys(old: ChildSa, new: ChildSa) -> bool:
    """Whether ``new`` is the same negotiated SA as ``old`` (same SPIs, algorithm and keys): only its
    endpoints or encapsulation may differ."""
    return (old.spi_in == new.spi_in and old.spi_out == new.spi_out
            and old.encryption_algorithm == new.encryption_algorithm and old.esn == new.esn
            and old.icv_length == new.icv_length and old.key_in == new.key_in and old.key_out == new.key_out
            and old.tunnel_index == new.tunnel_index)


def carry_state(old: SaPair, new: SaPair) -> None:
    """Move what an SA has accumulated from ``old`` to its rebuilt ``new`` (same keys, new endpoints):
    the outbound sequence number, the anti-replay window, lifetime usage, activity and rekey requests."""
    out_old, out_new = old.outbound, new.outbound
    out_new.seq = out_old.seq
    out_new.seq_rekey_sent = out_old.seq_rekey_sent
    out_new.lifetime = out_old.lifetime
    out_new.last_used = out_old.last_used
    out_new.rekey_events_sent = out_old.rekey_events_sent
    in_old, in_new = old.inbound, new.inbound
    in_new.replay = in_old.replay
    in_new.lifetime = in_old.lifetime
    in_new.last_used = in_old.last_used
    in_new.rekey_events_sent = in_old.rekey_events_sent
    new.reported_activity = old.reported_activity


class Sad:
    """SA pairs indexed for the datapath."""

    def __init__(self) -> None:
        self.inbound: dict[int, InboundSa] = {}
        self.pairs: dict[int, SaPair] = {}  # by inbound SPI, sending and retiring ones
        self.by_tunnel: dict[int, list[SaPair]] = {}  # sending pairs, preferred first
        self.retiring: dict[int, float] = {}  # inbound SPI -> when the pair goes (it only receives until then)
        self._expiries: list[tuple[float, int]] = []  # heap of (deadline, inbound SPI), possibly stale

    def add(self, pair: SaPair, *, after: SaPair | None = None) -> None:
        """Install ``pair``: first in its tunnel's sending list, or right behind ``after`` (a sending pair
        of the same tunnel that stays preferred until it is deleted)."""
        spi = pair.inbound.spi
        if spi in self.pairs:
            self.remove(spi)
        self.pairs[spi] = pair
        self.inbound[spi] = pair.inbound
        siblings = self.by_tunnel.setdefault(pair.tunnel_index, [])
        position = next((i + 1 for i, p in enumerate(siblings) if p is after), 0) if after is not None else 0
        siblings.insert(position, pair)

    def replace(self, old: SaPair, new: SaPair) -> None:
        """Put ``new`` (same inbound SPI) where ``old`` is: same place in the sending list, or still retiring."""
        spi = old.inbound.spi
        self.pairs[spi] = new
        self.inbound[spi] = new.inbound
        siblings = self.by_tunnel.get(old.tunnel_index, [])
        for i, p in enumerate(siblings):
            if p is old:
                siblings[i] = new

    def retire(self, spi_in: int, until: float) -> SaPair | None:
        """Stop sending on a pair; it keeps receiving until ``until`` (see ``expire``)."""
        pair = self.pairs.get(spi_in)
        if pair is None:
            return None
        self._leave_sending(pair)
        self.retiring[spi_in] = until
        heapq.heappush(self._expiries, (until, spi_in))
        return pair

    def is_retiring(self, spi_in: int) -> bool:
        return spi_in in self.retiring

    @property
    def next_expiry(self) -> float:
        """When the next retiring pair goes (infinity when none)."""
        return self._expiries[0][0] if self._expiries else math.inf

    def expire(self, now: float) -> list[SaPair]:
        """Remove the retiring pairs whose deadline has come."""
        gone = []
        heap = self._expiries
        while heap and heap[0][0] <= now:
            deadline, spi = heapq.heappop(heap)
            if self.retiring.get(spi) == deadline:  # else removed, or retired again with another deadline
                pair = self.remove(spi)
                if pair is not None:
                    gone.append(pair)
        return gone

    def remove(self, spi_in: int) -> SaPair | None:
        pair = self.pairs.pop(spi_in, None)
        if pair is None:
            return None
        self.inbound.pop(spi_in, None)
        self.retiring.pop(spi_in, None)
        self._leave_sending(pair)
        return pair

    def _leave_sending(self, pair: SaPair) -> None:
        siblings = self.by_tunnel.get(pair.tunnel_index, [])
        for i, p in enumerate(siblings):
            if p is pair:
                del siblings[i]
                break
        if not siblings:
            self.by_tunnel.pop(pair.tunnel_index, None)

    def remove_tunnel(self, tunnel_index: int) -> list[SaPair]:
        removed = list(self.by_tunnel.get(tunnel_index, ()))
        removed += [self.pairs[spi] for spi in self.retiring if self.pairs[spi].tunnel_index == tunnel_index]
        for pair in removed:
            self.remove(pair.inbound.spi)
        return removed

    def tunnel_indexes(self) -> set[int]:
        """Every tunnel with a pair, sending or retiring."""
        return {pair.tunnel_index for pair in self.pairs.values()}

    def outbound_pairs(self, tunnel_index: int) -> list[SaPair]:
        return self.by_tunnel.get(tunnel_index, [])

    def __len__(self) -> int:
        return len(self.pairs)
