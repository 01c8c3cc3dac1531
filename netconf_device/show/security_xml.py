"""Views -> Junos XML replies of the `show security ike|ipsec ...` RPCs (reference/junos-xml.md §1.1-§1.8).

Element names, order and value formats follow the captures; what the captures do not show is marked
DERIVED here and in docs/show-commands.md. The builders only select and format: filtering by index or peer
is done here so that every caller (RPC, `<command>`, CLI text) applies it the same way.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
from collections.abc import Iterable, Sequence
from typing import Literal

from netconf_device.show import junos_names as names
from netconf_device.show.views import (
    IkeActivePeerView,
    IkeSaView,
    IpsecSaPair,
    IpsecStatisticsView,
    IpsecTunnelView,
    TunnelEvent,
)
from netconf_device.show.xmlutil import Element, LeafRow, sub, top_element

Level = Literal["brief", "detail"]
Family = Literal["inet", "inet6"]

# Values Junos prints for features the emulated MX does not have (captured values).
REMOTE_CLIENT_INFO = "Unknown Client"
NO_XAUTH_ASSIGNED_IP = "0.0.0.0"


def _same_address(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a == b


def _in_family(address: str, family: Family | None) -> bool:
    if family is None:
        return True
    try:
        version = ipaddress.ip_address(address).version
    except ValueError:
        return False
    return version == (4 if family == "inet" else 6)


def _level(level: Level | None, index: int | None) -> Level:
    # `show ... index N` prints the detailed form unless `brief` is given (Junos docs: "index - display
    # detailed information about the specified SA").
    if level is not None:
        return level
    return "detail" if index is not None else "brief"


# ============================================================================================ IKE SAs


def select_ike_sas(
    sas: Iterable[IkeSaView],
    *,
    index: int | None = None,
    peer_address: str | None = None,
    family: Family | None = None,
) -> list[IkeSaView]:
    """The IKE SAs an `index N` / `<peer>` / `family` filter keeps, in the given order."""
    return [
        sa
        for sa in sas
        if (index is None or sa.index == index)
        and (peer_address is None or _same_address(sa.remote_address, peer_address))
        and _in_family(sa.remote_address, family)
    ]


def build_ike_security_associations(
    sas: Iterable[IkeSaView],
    *,
    level: Level | None = None,
    index: int | None = None,
    peer_address: str | None = None,
    family: Family | None = None,
) -> Element:
    """``<ike-security-associations-information junos:style="brief|detail">`` (§1.1-§1.3).

    No matching SA: the top element with no children (as Junos answers).
    """
    style = _level(level, index)
    top = top_element("ike-security-associations-information", style=style)
    for sa in select_ike_sas(sas, index=index, peer_address=peer_address, family=family):
        if style == "brief":
            _ike_sa_brief(top, sa)
        else:
            _ike_sa_detail(top, sa)
    return top


_IKE_BRIEF_ROW = LeafRow("ike-security-associations", (
    "ike-sa-remote-address", "ike-sa-index", "ike-sa-state", "ike-sa-initiator-cookie", "ike-sa-responder-cookie",
    "ike-sa-exchange-type"))


def _ike_sa_brief(parent: Element, sa: IkeSaView) -> None:
    _IKE_BRIEF_ROW.add(parent, (sa.remote_address, sa.index, sa.state, names.cookie_hex(sa.initiator_spi),
                                names.cookie_hex(sa.responder_spi), sa.exchange_type))


def _ike_sa_detail(parent: Element, sa: IkeSaView) -> None:
    block = sub(parent, "ike-security-associations-block")
    sub(block, "ike-sa-remote-address", sa.remote_address)
    sub(block, "ike-sa-index", sa.index)
    sub(block, "ike-gw-name", sa.gateway_name)
    entry = sub(block, "ike-security-associations")
    sub(entry, "ike-sa-role", sa.role)
    sub(entry, "ike-sa-state", sa.state)
    sub(entry, "ike-sa-initiator-cookie", names.cookie_hex(sa.initiator_spi))
    sub(entry, "ike-sa-responder-cookie", names.cookie_hex(sa.responder_spi))
    sub(entry, "ike-sa-exchange-type", sa.exchange_type)
    sub(entry, "ike-sa-authentication-method", sa.authentication_method)
    if sa.local_gateway_interface:
        # DERIVED position: after the authentication method, as in the MX `services ipsec-vpn` capture.
        sub(entry, "ike-sa-local-gateway-interface", sa.local_gateway_interface)
        sub(entry, "ike-sa-routing-instance", sa.routing_instance)
    sub(entry, "ike-sa-remote-address", sa.remote_address)
    sub(entry, "ike-sa-remote-port", sa.remote_port)
    sub(entry, "ike-sa-local-address", sa.local_address)
    sub(entry, "ike-sa-local-port", sa.local_port)
    sub(entry, "ike-sa-lifetime", names.expires_in(sa.lifetime_remaining_seconds))
    reauth = sa.reauth_lifetime_remaining_seconds
    sub(entry, "ike-sa-reauthlifetime", "Disabled" if reauth is None else names.expires_in(reauth))
    sub(entry, "ike-sa-ike-frag", "Enabled" if sa.fragmentation_enabled else "Disabled")
    sub(entry, "ike-sa-frag-size", sa.fragmentation_size if sa.fragmentation_enabled else 0)
    sub(entry, "ike-sa-remote-client-info", REMOTE_CLIENT_INFO)
    xauth = sub(entry, "ike-xauth-user-info")
    sub(xauth, "ike-ike-id", sa.remote_identity)
    sub(xauth, "ike-xauth-username")
    sub(xauth, "ike-xauth-user-assigned-ip", NO_XAUTH_ASSIGNED_IP)
    algorithms = sub(entry, "ike-sa-algorithms")
    sub(algorithms, "ike-sa-authentication-algorithm", sa.algorithms.authentication)
    sub(algorithms, "ike-sa-encryption-algorithm", sa.algorithms.encryption)
    sub(algorithms, "ike-sa-prf-algorithm", sa.algorithms.prf)
    sub(algorithms, "ike-sa-dhgroup", sa.algorithms.dh_group)
    traffic = sub(entry, "ike-sa-traffic-statistics")
    sub(traffic, "ike-sa-input-bytes", sa.traffic.input_bytes)
    sub(traffic, "ike-sa-output-bytes", sa.traffic.output_bytes)
    sub(traffic, "ike-sa-input-packets", sa.traffic.input_packets)
    sub(traffic, "ike-sa-output-packets", sa.traffic.output_packets)
    sub(traffic, "ike-sa-input-frag-packets", sa.traffic.input_fragmented_packets)
    sub(traffic, "ike-sa-output-frag-packets", sa.traffic.output_fragmented_packets)
    misc = sub(entry, "ike-sa-misc")
    sub(misc, "ike-sa-num-ipsec-sas-created", sa.ipsec_sas_created)
    sub(misc, "ike-sa-num-ipsec-sas-deleted", sa.ipsec_sas_deleted)
    sub(misc, "ike-sa-num-phase2-negotiations", len(sa.phase2_negotiations))
    if sa.ipsec_tunnel_ids:
        # DERIVED: YANG leaf ike-sa-misc/ike-ipsec-sa-tunnel-ids; value format (space-separated) assumed.
        sub(misc, "ike-ipsec-sa-tunnel-ids", " ".join(str(t) for t in sa.ipsec_tunnel_ids))
    for negotiation in sa.phase2_negotiations:
        phase2 = sub(sub(entry, "ike-sa-phase2-information"), "ike-sa-num-phase2-negotiations")
        sub(phase2, "ike-sa-phase2-type", negotiation.negotiation_type)
        sub(phase2, "ike-sa-role", negotiation.role)
        sub(phase2, "ike-sa-msg-id", negotiation.message_id)
        sub(phase2, "ike-sa-local-address", negotiation.local_address)
        sub(phase2, "ike-sa-local-port", negotiation.local_port)
        sub(phase2, "ike-sa-remote-address", negotiation.remote_address)
        sub(phase2, "ike-sa-remote-port", negotiation.remote_port)
        sub(phase2, "ike-sa-local-id", negotiation.local_identity)
        sub(phase2, "ike-sa-remote-id", negotiation.remote_identity)
        sub(phase2, "ike-sa-flags", negotiation.flags)


# ====================================================================================== active peers


def build_ike_active_peers(
    peers: Iterable[IkeActivePeerView],
    *,
    level: Level | None = None,
    peer_address: str | None = None,
    port: int | None = None,
) -> Element:
    """``<ike-active-peers-information>`` (§1.8). DERIVED: no capture exists; names from YANG 24.4 and the
    XPaths Juniper's Toby reads (``ike-sa-remote-address``, ``ike-ike-id``, ``ike-dpd-stats-req`` ...).
    No ``junos:style`` because none is documented.
    """
    top = top_element("ike-active-peers-information")
    detail = (level or "brief") == "detail"
    for peer in peers:
        if peer_address is not None and not _same_address(peer.remote_address, peer_address):
            continue
        if port is not None and peer.remote_port != port:
            continue
        if detail:
            _active_peer_detail(top, peer)
        else:
            entry = sub(top, "ike-active-peers")
            sub(entry, "ike-sa-remote-address", peer.remote_address)
            sub(entry, "ike-sa-remote-port", peer.remote_port)
            sub(entry, "ike-ike-id", peer.remote_identity)
            sub(entry, "ike-xauth-username", peer.xauth_username)
            sub(entry, "ike-xauth-user-assigned-ip", peer.assigned_ip)
    return top


def _active_peer_detail(parent: Element, peer: IkeActivePeerView) -> None:
    block = sub(parent, "ike-active-peers-block")
    sub(block, "ike-sa-remote-address", peer.remote_address)
    sub(block, "ike-sa-remote-port", peer.remote_port)
    sub(block, "ike-ike-id", peer.remote_identity)
    sub(block, "ike-xauth-username", peer.xauth_username)
    local = sub(block, "ike-peer-local-information")
    sub(local, "ike-sa-local-gateway-interface", peer.local_gateway_interface or "")
    sub(local, "ike-sa-routing-instance", peer.routing_instance)
    sub(local, "ike-sa-local-address", peer.local_address)
    sub(local, "ike-sa-local-port", peer.local_port)
    sub(local, "ike-sa-local-ike-id", peer.local_identity)
    info = sub(block, "ike-active-peers")
    sub(info, "ike-xauth-user-assigned-ip", peer.assigned_ip)
    sub(info, "ike-p1sa-id-list", " ".join(str(i) for i in peer.ike_sa_indexes))
    sub(info, "ike-peer-ike-sa-negotiated", peer.ike_sas_negotiated)
    sub(info, "ike-peer-active-ipsec-sa", peer.active_ipsec_sas)
    sub(info, "ike-ipsec-sa-id-list", " ".join(str(i) for i in peer.ipsec_tunnel_ids))
    if peer.dpd is not None:
        sub(info, "ike-dpd-cfg-mode", peer.dpd.mode)
        sub(info, "ike-dpd-cfg-interval", peer.dpd.interval)
        sub(info, "ike-dpd-cfg-threshold", peer.dpd.threshold)
        sub(info, "ike-dpd-stats-req", peer.dpd.requests_sent)
        sub(info, "ike-dpd-stats-resp", peer.dpd.responses_received)


# ========================================================================================= IPsec SAs


def select_ipsec_tunnels(
    tunnels: Iterable[IpsecTunnelView],
    *,
    index: int | None = None,
    family: Family | None = None,
    vpn_name: str | None = None,
) -> list[IpsecTunnelView]:
    """Tunnels the listing shows: those with at least one SA pair (the rest are "inactive tunnels")."""
    return [
        t
        for t in tunnels
        if t.sa_pairs
        and (index is None or t.tunnel_index == index)
        and (vpn_name is None or t.vpn_name == vpn_name)
        and _in_family(t.remote_gateway, family)
    ]


def build_ipsec_security_associations(
    tunnels: Iterable[IpsecTunnelView],
    *,
    level: Level | None = None,
    index: int | None = None,
    family: Family | None = None,
    vpn_name: str | None = None,
) -> Element:
    """``<ipsec-security-associations-information junos:style="brief|detail">`` (§1.4-§1.5).

    Brief starts with ``total-active-tunnels`` and ``total-ipsec-sas`` (SA pairs), as 18.4R3+ does, also
    when there is nothing to list (``0``); detail has no totals (capture).
    """
    style = _level(level, index)
    selected = select_ipsec_tunnels(tunnels, index=index, family=family, vpn_name=vpn_name)
    top = top_element("ipsec-security-associations-information", style=style)
    if style == "brief":
        sub(top, "total-active-tunnels", len(selected))
        sub(top, "total-ipsec-sas", sum(len(t.sa_pairs) for t in selected))
    for tunnel in selected:
        block = sub(top, "ipsec-security-associations-block")
        sub(block, "sa-block-state", "up")
        if style == "brief":
            for pair in tunnel.sa_pairs:
                for direction in ("inbound", "outbound"):
                    _ipsec_sa_brief(block, tunnel, pair, direction)
        else:
            _ipsec_tunnel_detail(block, tunnel)
    return top


def _spi(pair: IpsecSaPair, direction: str) -> int:
    return pair.inbound_spi if direction == "inbound" else pair.outbound_spi


def _brief_monitoring(tunnel: IpsecTunnelView) -> str:
    # Seed: "-" when VPN monitoring is off, U (up) / D (down) when it is on.
    return {None: "-", "up": "U", "down": "D"}[tunnel.vpn_monitoring]


def _detail_monitoring(tunnel: IpsecTunnelView) -> str:
    return {None: "-", "up": "UP", "down": "DOWN"}[tunnel.vpn_monitoring]


def _brief_hard_lifetime(pair: IpsecSaPair) -> str:
    seconds = pair.hard_lifetime_remaining_seconds
    return "unlim" if seconds is None else str(max(0, seconds))  # DERIVED: manual SA without lifetime


_IPSEC_BRIEF_ROW = LeafRow("ipsec-security-associations", (
    "sa-direction", "sa-tunnel-index", "sa-spi", "sa-aux-spi", "sa-remote-gateway", "sa-port",
    "sa-vpn-monitoring-state", "sa-protocol", "sa-esp-encryption-algorithm", "sa-hmac-algorithm", "sa-hard-lifetime",
    "sa-lifesize-remaining", "sa-virtual-system"))


def _ipsec_sa_brief(block: Element, tunnel: IpsecTunnelView, pair: IpsecSaPair, direction: str) -> None:
    kilobytes = pair.lifesize_remaining_kilobytes
    _IPSEC_BRIEF_ROW.add(block, (
        "<" if direction == "inbound" else ">",
        tunnel.tunnel_index,
        names.spi_hex(_spi(pair, direction)),
        pair.aux_spi,
        tunnel.remote_gateway,
        tunnel.port,
        _brief_monitoring(tunnel),
        tunnel.protocol,
        names.ipsec_brief_encryption_name(tunnel.encryption_algorithm),
        names.ipsec_brief_integrity_name(tunnel.authentication_algorithm),
        _brief_hard_lifetime(pair),
        "unlim" if kilobytes is None else kilobytes,
        tunnel.virtual_system,
    ))


def _ipsec_tunnel_detail(block: Element, tunnel: IpsecTunnelView) -> None:
    sub(block, "sa-tunnel-index", tunnel.tunnel_index)
    sub(block, "sa-virtual-system", tunnel.virtual_system)
    sub(block, "sa-vpn-name", tunnel.vpn_name)
    sub(block, "sa-local-gateway", tunnel.local_gateway)
    sub(block, "sa-remote-gateway", tunnel.remote_gateway)
    sub(block, "sa-traffic-selector-name", tunnel.traffic_selector_name)
    sub(block, "sa-local-identity", tunnel.local_identity)
    sub(block, "sa-remote-identity", tunnel.remote_identity)
    sub(block, "sa-ike-version", tunnel.ike_version)
    # DERIVED (YANG 24.4 leaves, no capture): only present when the feature is in use.
    if tunnel.pfs_group:
        sub(block, "sa-pfs-group", tunnel.pfs_group)
    if tunnel.udp_encapsulation is not None:
        sub(block, "sa-packet-encapsulation-protocol", "UDP")
        sub(block, "sa-packet-encapsulation-destination-port", tunnel.udp_encapsulation.destination_port)
    if tunnel.service_set:
        sub(block, "iked-svc-set-name", tunnel.service_set)
    policy = sub(block, "sa-df-bit-policy-name")
    sub(policy, "sa-df-bit", tunnel.df_bit)
    sub(policy, "sa-copy-outer-dscp", "Enabled" if tunnel.copy_outer_dscp else "Disabled")
    sub(policy, "sa-bind-interface", tunnel.bind_interface)
    if tunnel.tunnel_mtu is not None:
        sub(policy, "sa-tunnel-mtu", tunnel.tunnel_mtu)  # DERIVED (YANG leaf)
    device = sub(block, "sa-dev-info")
    sub(device, "sa-port", tunnel.port)
    sub(device, "sa-nego-num", tunnel.negotiations)
    sub(device, "sa-nego-fail", tunnel.negotiation_failures)
    sub(device, "sa-del-num", tunnel.deletions)
    sub(device, "sa-flag", f"0x{tunnel.flags:x}")
    multi = sub(block, "multi-sa-info")  # element names from YANG; the CLI line is captured (24.4)
    sub(multi, "multi-sa-cfg-sas", tunnel.configured_sas)
    sub(multi, "multi-sa-nego-sas", tunnel.negotiated_sas)
    if tunnel.events:
        add_tunnel_events(sub(block, "sa-ipsec-tunnel-events"), tunnel.events)
    for pair in tunnel.sa_pairs:
        for direction in ("inbound", "outbound"):
            _ipsec_sa_detail(block, tunnel, pair, direction)


def add_tunnel_events(parent: Element, events: Iterable[TunnelEvent]) -> None:
    """Time, text and count of each event under ``parent``, newest first as given (captured element names)."""
    for event in events:
        sub(parent, "sa-tunnel-event-time", format_event_time(event.time))
        sub(parent, "sa-tunnel-event", event.description)
        sub(parent, "sa-tunnel-event-num-times", event.count)


def format_event_time(moment: _dt.datetime) -> str:
    """``Sat Apr 29 2017 19:33:03 -0700`` (captured); naive datetimes are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.UTC)
    return moment.strftime("%a %b %d %Y %H:%M:%S %z")


def _ipsec_sa_detail(block: Element, tunnel: IpsecTunnelView, pair: IpsecSaPair, direction: str) -> None:
    sa = sub(block, "ipsec-security-associations")
    sub(sa, "sa-direction", direction)
    sub(sa, "sa-tunnel-index", tunnel.tunnel_index)
    sub(sa, "sa-spi", names.spi_hex(_spi(pair, direction)))
    sub(sa, "sa-aux-spi", pair.aux_spi)
    sub(sa, "sa-remote-gateway", tunnel.remote_gateway)
    sub(sa, "sa-port", tunnel.port)
    sub(sa, "sa-vpn-monitoring-state", _detail_monitoring(tunnel))
    sub(sa, "sa-esp-encryption-algorithm", names.ipsec_brief_encryption_name(tunnel.encryption_algorithm))
    sub(sa, "sa-hmac-algorithm", names.ipsec_brief_integrity_name(tunnel.authentication_algorithm))
    hard = pair.hard_lifetime_remaining_seconds
    sub(sa, "sa-hard-lifetime", "Unlimited" if hard is None else names.expires_in(hard))
    kilobytes = pair.lifesize_remaining_kilobytes
    # Captured with a leading space (" Unlimited"); the CLI prints it after "Lifesize Remaining: ".
    sub(sa, "sa-lifesize-remaining", " Unlimited" if kilobytes is None else f" {kilobytes} kilobytes")
    soft = pair.soft_lifetime_remaining_seconds
    if soft is not None:
        sub(sa, "sa-soft-lifetime", names.expires_in(soft))
    sub(sa, "sa-virtual-system", tunnel.virtual_system)
    sub(sa, "sa-mode", pair.mode)
    sub(sa, "sa-type", pair.sa_type)
    sub(sa, "sa-state", pair.state)
    sub(sa, "sa-protocol", tunnel.protocol)
    sub(sa, "sa-authentication-algorithm", names.ipsec_detail_integrity_name(tunnel.authentication_algorithm))
    sub(sa, "sa-encryption-algorithm", names.ipsec_detail_encryption_name(tunnel.encryption_algorithm))
    if pair.anti_replay_window:
        sub(sa, "sa-anti-replay-service", "counter-based enabled")
        sub(sa, "sa-replay-window-size", pair.anti_replay_window)
    else:
        sub(sa, "sa-anti-replay-service", "disabled")  # captured (blog): "Anti-replay service: disabled"
    # DERIVED (YANG leaf sa-extended-seq-number): the seed supports 64-bit ESN.
    sub(sa, "sa-extended-seq-number", "Enabled" if pair.extended_sequence_number else "Disabled")


# ======================================================================================= statistics

_STATISTICS_LAYOUT: Sequence[tuple[str, Sequence[tuple[str, str]]]] = (
    (
        "esp-statistics",
        (
            ("esp-encrypted-bytes", "encrypted_bytes"),
            ("esp-decrypted-bytes", "decrypted_bytes"),
            ("esp-encrypted-packets", "encrypted_packets"),
            ("esp-decrypted-packets", "decrypted_packets"),
        ),
    ),
    (
        "ah-statistics",
        (
            ("ah-input-bytes", "ah_input_bytes"),
            ("ah-output-bytes", "ah_output_bytes"),
            ("ah-input-packets", "ah_input_packets"),
            ("ah-output-packets", "ah_output_packets"),
        ),
    ),
    (
        "error-statistics",
        (
            ("ah-authentication-failures", "ah_authentication_failures"),
            ("replay-errors", "replay_errors"),
            ("esp-authentication-failures", "esp_authentication_failures"),
            ("esp-decryption-failures", "esp_decryption_failures"),
            ("bad-headers", "bad_headers"),
            ("bad-trailers", "bad_trailers"),
            # Newer releases (YANG 24.4; CLI text captured on cSRX): after the six classic counters.
            ("invalid-spi-errors", "invalid_spi"),
            ("ts-check-fail-errors", "ts_check_failures"),
            ("exceeds-tunnel-mtu", "exceeds_tunnel_mtu"),
            ("discard-errors", "discarded"),
        ),
    ),
)


def build_ipsec_statistics(statistics: IpsecStatisticsView | None) -> Element:
    """``<usp-ipsec-total-statistics-information>`` (§1.6), the same shape for global and `index N`.

    ``None`` (an `index N` that does not exist): the top element with no children.
    """
    top = top_element("usp-ipsec-total-statistics-information")
    if statistics is None:
        return top
    for group_name, counters in _STATISTICS_LAYOUT:
        group = sub(top, group_name)
        for element_name, attribute in counters:
            sub(group, element_name, getattr(statistics, attribute))
    return top
