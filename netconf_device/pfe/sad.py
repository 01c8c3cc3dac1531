"""The security association database: inbound SAs by SPI, outbound SAs by tunnel index.

A ``ChildSa`` from the IKE daemon (or a manual SA from the configuration) becomes an ``SaPair``: an
``InboundSa`` keyed by the SPI we chose and an ``OutboundSa`` used for the VPN's tunnel index. On rekey
the new pair goes first in its tunnel's list (make-before-break: the old inbound SPI keeps working until
``ChildSaDeleted``). Several pairs with different traffic selectors may serve one tunnel; outbound
selection then matches the inner packet against each pair's selectors.
"""

from __future__ import annotations

import ipaddress
import logging
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


class Sad:
    """SA pairs indexed for the datapath."""

    def __init__(self) -> None:
        self.inbound: dict[int, InboundSa] = {}
        self.pairs: dict[int, SaPair] = {}  # by inbound SPI
        self.by_tunnel: dict[int, list[SaPair]] = {}

    def add(self, pair: SaPair) -> None:
        spi = pair.inbound.spi
        if spi in self.pairs:
            self.remove(spi)
        self.pairs[spi] = pair
        self.inbound[spi] = pair.inbound
        self.by_tunnel.setdefault(pair.tunnel_index, []).insert(0, pair)

    def remove(self, spi_in: int) -> SaPair | None:
        pair = self.pairs.pop(spi_in, None)
        if pair is None:
            return None
        self.inbound.pop(spi_in, None)
        siblings = self.by_tunnel.get(pair.tunnel_index, [])
        if pair in siblings:
            siblings.remove(pair)
        if not siblings:
            self.by_tunnel.pop(pair.tunnel_index, None)
        return pair

    def remove_tunnel(self, tunnel_index: int) -> list[SaPair]:
        removed = list(self.by_tunnel.get(tunnel_index, ()))
        for pair in removed:
            self.remove(pair.inbound.spi)
        return removed

    def outbound_pairs(self, tunnel_index: int) -> list[SaPair]:
        return self.by_tunnel.get(tunnel_index, [])

    def __len__(self) -> int:
        return len(self.pairs)
