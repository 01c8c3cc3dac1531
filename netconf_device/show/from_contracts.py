"""Fill the views from the project's contracts (``config.intent`` and ``sa.ChildSa``).

The IKE daemon and the PFE hand the device their snapshots; what they share through the contracts
(configured VPNs and gateways, installed child SAs) is converted here, so the integration only adds what
the engines alone know (IKE SA state, counters, events).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from netconf_device.config.intent import Intent, IpsecVpn
from netconf_device.sa import ChildSa
from netconf_device.show import junos_names as names
from netconf_device.show.views import (
    IkeAlgorithms,
    IpsecSaPair,
    IpsecTunnelView,
    TunnelEvent,
    UdpEncapsulationView,
)

ANY_IPV4 = "0.0.0.0/0"


def ike_algorithms(encryption: str, integrity: str | None, prf: str, dh_group: str | int) -> IkeAlgorithms:
    """Negotiated IKE transforms, given as configuration keywords (``aes-256-cbc``, ``sha-256``, ``group19``)."""
    return IkeAlgorithms(
        authentication=names.ike_integrity_name(integrity),
        encryption=names.ike_encryption_name(encryption),
        prf=names.ike_prf_name(prf),
        dh_group=names.dh_group_name(dh_group),
    )


def sa_pair(
    child: ChildSa,
    now: float,
    *,
    anti_replay_window: int = 64,
    soft_lifetime_remaining_seconds: int | None = None,
    kilobytes_used: int = 0,
    manual: bool = False,
) -> IpsecSaPair:
    """One child SA pair; lifetimes count down from ``child.created_at`` with the engines' clock ``now``."""
    hard = None if manual else max(0, int(child.lifetime_seconds - (now - child.created_at)))
    lifesize = None
    if child.lifetime_bytes is not None:
        lifesize = max(0, child.lifetime_bytes // 1024 - kilobytes_used)
    return IpsecSaPair(
        inbound_spi=child.spi_in,
        outbound_spi=child.spi_out,
        hard_lifetime_remaining_seconds=hard,
        soft_lifetime_remaining_seconds=soft_lifetime_remaining_seconds,
        lifesize_remaining_kilobytes=lifesize,
        sa_type="manual" if manual else "dynamic",
        anti_replay_window=anti_replay_window,
        extended_sequence_number=child.esn,
    )


def ipsec_tunnel_view(
    vpn: IpsecVpn,
    children: Sequence[ChildSa],
    now: float,
    *,
    soft_lifetimes: Mapping[int, int] | None = None,
    kilobytes_used: Mapping[int, int] | None = None,
    ike_port: int = 500,
    vpn_monitoring: str | None = None,
    negotiations: int = 0,
    negotiation_failures: int = 0,
    deletions: int = 0,
    events: Iterable[TunnelEvent] = (),
) -> IpsecTunnelView:
    """A VPN of the intent with its installed child SAs (oldest first).

    ``soft_lifetimes`` and ``kilobytes_used`` are keyed by the inbound SPI; ``ike_port`` is the port the
    IKE SA runs on (4500 after NAT-T floating), which is what Junos shows in the Port column.
    """
    soft_lifetimes = soft_lifetimes or {}
    kilobytes_used = kilobytes_used or {}
    latest = children[-1] if children else None  # the newest pair says where the tunnel runs now
    gateway = vpn.gateway
    local = str(latest.local_address) if latest and latest.local_address is not None else ""
    if not local and gateway is not None and gateway.local_address is not None:
        local = str(gateway.local_address)
    remote = str(latest.remote_address) if latest and latest.remote_address is not None else ""
    if not remote and gateway is not None and gateway.addresses:
        remote = gateway.addresses[0]
    if vpn.manual is not None:
        remote = remote or str(vpn.manual.gateway)
        local = local or (str(vpn.manual.local_address) if vpn.manual.local_address else "")

    local_ts = latest.local_ts[0] if latest and latest.local_ts else None
    remote_ts = latest.remote_ts[0] if latest and latest.remote_ts else None
    if local_ts is None and vpn.traffic_selectors:
        local_ts, remote_ts = vpn.traffic_selectors[0].local, vpn.traffic_selectors[0].remote
    selector_name = vpn.traffic_selectors[0].name if vpn.traffic_selectors else ""

    encryption = latest.encryption_algorithm if latest else _configured_encryption(vpn)
    udp = _udp_encapsulation(vpn, latest)
    pfs = vpn.ipsec_policy.pfs_group if vpn.ipsec_policy else None
    return IpsecTunnelView(
        tunnel_index=vpn.tunnel_index,
        vpn_name=vpn.name,
        local_gateway=local,
        remote_gateway=remote,
        encryption_algorithm=encryption,
        sa_pairs=tuple(
            sa_pair(
                child,
                now,
                anti_replay_window=vpn.anti_replay_window,
                soft_lifetime_remaining_seconds=soft_lifetimes.get(child.spi_in),
                kilobytes_used=kilobytes_used.get(child.spi_in, 0),
                manual=vpn.manual is not None,
            )
            for child in children
        ),
        port=udp.destination_port if udp is not None and udp.kind == "nat-t" else ike_port,
        vpn_monitoring=vpn_monitoring,  # type: ignore[arg-type]
        traffic_selector_name=selector_name,
        local_identity=names.proxy_identity(local_ts if local_ts is not None else ANY_IPV4),
        remote_identity=names.proxy_identity(remote_ts if remote_ts is not None else ANY_IPV4),
        ike_version="IKEv2",
        df_bit=vpn.df_bit,
        bind_interface=vpn.bind_interface or "",
        tunnel_mtu=vpn.tunnel_mtu,
        pfs_group=names.dh_group_name(pfs) if pfs else None,
        service_set=vpn.service_set,
        udp_encapsulation=udp,
        negotiations=negotiations,
        negotiation_failures=negotiation_failures,
        deletions=deletions,
        negotiated_sas=len(children),
        events=tuple(events),
    )


def _configured_encryption(vpn: IpsecVpn) -> str:
    if vpn.manual is not None:
        return vpn.manual.encryption_algorithm
    if vpn.ipsec_policy and vpn.ipsec_policy.proposals:
        return vpn.ipsec_policy.proposals[0].encryption_algorithm
    return "aes-256-gcm"


def _udp_encapsulation(vpn: IpsecVpn, child: ChildSa | None) -> UdpEncapsulationView | None:
    # NAT detected by IKE takes precedence over the service set's UDP encapsulation (seed).
    if child is not None and child.encap is not None:
        return UdpEncapsulationView(child.encap.kind, child.encap.destination_port)
    if vpn.udp_encapsulation is not None:
        return UdpEncapsulationView("service-set", vpn.udp_encapsulation.destination_port)
    return None


def ipsec_wan_interfaces(intent: Intent) -> list[str]:
    """External interfaces of the IKE gateways that IPsec VPNs use: the ports `show chassis ... pic` marks
    as IPsec WAN."""
    used = {vpn.gateway.name for vpn in intent.ipsec_vpns.values() if vpn.gateway is not None}
    return sorted(
        {
            gateway.external_interface
            for name, gateway in intent.ike_gateways.items()
            if name in used and gateway.external_interface
        }
    )
