"""Adapters: the engines' live state -> the typed views of ``netconf_device.show``.

One function per command family; each takes one snapshot of the engines, so a reply is consistent. The
IKE daemon knows IKE SAs, negotiations and tunnel events; the PFE knows what is installed and what it
carried. Installed child SAs come from the PFE (what really encrypts; manual SAs live only there), their
soft lifetimes from the IKE daemon.
"""

from __future__ import annotations

from netconf_device.live.engines import Engines
from netconf_device.pfe.counters import statistics_view_kwargs
from netconf_device.show import from_contracts
from netconf_device.show.junos_names import NO_ALGORITHM
from netconf_device.show.views import (
    DpdView,
    IkeActivePeerView,
    IkeAlgorithms,
    IkeChildNegotiation,
    IkeSaView,
    IkeTrafficStatistics,
    IpsecStatisticsView,
    IpsecTunnelView,
    TunnelEvent,
)


def _algorithm(name: str) -> str:
    return NO_ALGORITHM if name in ("", "none") else name


#: The brief listing prints address, index, state, cookies and exchange type only; the rest of its views is
#: left neutral rather than derived for every SA on every poll.
_NOT_IN_BRIEF = {"algorithms": IkeAlgorithms(NO_ALGORITHM, NO_ALGORITHM, NO_ALGORITHM, NO_ALGORITHM),
                 "lifetime_remaining_seconds": 0}


def ike_sa_views(engines: Engines, *, brief: bool = False, index: int | None = None) -> list[IkeSaView]:
    """Every IKE SA of the daemon (negotiating ones as DOWN), in index order, or the one with ``index``.
    ``brief``: only what the brief listing prints (cheap for 2000 SAs)."""
    if brief:
        return [IkeSaView(index=b.index, gateway_name=b.gateway, state=b.state,  # type: ignore[arg-type]
                          role=b.role, remote_address=b.remote_address,  # type: ignore[arg-type]
                          local_address=b.local_address, initiator_spi=int(b.initiator_cookie or "0", 16),
                          responder_spi=int(b.responder_cookie or "0", 16), remote_port=b.remote_port,
                          local_port=b.local_port, exchange_type=b.exchange_type, **_NOT_IN_BRIEF)
                for b in engines.iked.ike_sa_brief(index)]
    intent = engines.intent
    views = []
    for snap in engines.iked.ike_sa_snapshots(index):
        gateway = intent.ike_gateways.get(snap.gateway)
        c = snap.counters
        negotiations = tuple(
            IkeChildNegotiation(role=role, message_id=msg_id, local_address=snap.local_address,  # type: ignore[arg-type]
                                local_port=snap.local_port, remote_address=snap.remote_address,
                                remote_port=snap.remote_port, local_identity=snap.local_id,
                                remote_identity=snap.remote_id)
            for role, msg_id in snap.child_negotiations)
        views.append(IkeSaView(
            index=snap.index,
            gateway_name=snap.gateway,
            state=snap.state,  # type: ignore[arg-type]
            role=snap.role,  # type: ignore[arg-type]
            remote_address=snap.remote_address,
            local_address=snap.local_address,
            initiator_spi=int(snap.initiator_cookie or "0", 16),
            responder_spi=int(snap.responder_cookie or "0", 16),
            algorithms=IkeAlgorithms(
                authentication=_algorithm(snap.integrity_algorithm),
                encryption=_algorithm(snap.encryption_algorithm),
                prf=_algorithm(snap.prf_algorithm),
                dh_group=snap.dh_group_name or NO_ALGORITHM,
            ),
            lifetime_remaining_seconds=snap.lifetime_remaining,
            remote_port=snap.remote_port,
            local_port=snap.local_port,
            exchange_type=snap.exchange_type,
            authentication_method=snap.authentication_method,
            local_gateway_interface=gateway.external_interface if gateway else None,
            reauth_lifetime_remaining_seconds=snap.reauth_remaining,
            fragmentation_enabled=snap.fragmentation,
            fragmentation_size=snap.fragmentation_size,
            remote_identity=snap.remote_id,
            traffic=IkeTrafficStatistics(
                input_bytes=c.get("in_bytes", 0), output_bytes=c.get("out_bytes", 0),
                input_packets=c.get("in_packets", 0), output_packets=c.get("out_packets", 0),
                input_fragmented_packets=c.get("in_frag_packets", 0),
                output_fragmented_packets=c.get("out_frag_packets", 0),
            ),
            ipsec_sas_created=c.get("ipsec_created", 0),
            ipsec_sas_deleted=c.get("ipsec_deleted", 0),
            ipsec_tunnel_ids=snap.tunnel_indices,
            phase2_negotiations=negotiations,
        ))
    return views


def active_peer_views(engines: Engines) -> list[IkeActivePeerView]:
    intent = engines.intent
    tunnels_of: dict[str, list[int]] = {}  # gateway -> tunnel indexes, once (not once per peer: 2000 x 2000)
    for vpn in intent.ipsec_vpns.values():
        if vpn.gateway is not None:
            tunnels_of.setdefault(vpn.gateway.name, []).append(vpn.tunnel_index)
    views = []
    for peer in engines.iked.active_peers():
        gateway = intent.ike_gateways.get(peer.get("gateway", ""))
        indexes = tuple(peer.get("ike_sa_indices", ()))
        tunnels = tuple(sorted(tunnels_of.get(peer.get("gateway", ""), ())))
        dpd = None
        if peer.get("dpd_mode"):
            dpd = DpdView(mode=peer["dpd_mode"], interval=peer.get("dpd_interval") or 10,
                          threshold=peer.get("dpd_threshold") or 5,
                          requests_sent=peer.get("dpd_requests_sent", 0),
                          responses_received=peer.get("dpd_responses_received", 0))
        views.append(IkeActivePeerView(
            remote_address=peer["remote_address"],
            remote_port=peer["remote_port"],
            remote_identity=peer.get("remote_id", ""),
            local_address=peer.get("local_address", ""),
            local_port=peer.get("local_port", 500),
            local_identity=peer.get("local_id", ""),
            local_gateway_interface=gateway.external_interface if gateway else None,
            ike_sa_indexes=indexes,
            ipsec_tunnel_ids=tunnels,
            ike_sas_negotiated=len(indexes),
            active_ipsec_sas=peer.get("ipsec_sa_count", 0),
            dpd=dpd,
        ))
    return views


def ipsec_tunnel_views(engines: Engines, *, only_index: int | None = None,
                       detail: bool = True) -> list[IpsecTunnelView]:
    """Every configured VPN (or the one with ``only_index``) with the SA pairs the PFE has installed for it
    (oldest first). ``detail`` False leaves out what only the detail form prints (soft lifetimes, negotiation
    counters, tunnel events), which costs the IKE daemon a snapshot of every child SA."""
    now = engines.now()
    datapath, iked = engines.datapath, engines.iked
    ike_ports = {sa.index: sa.remote_port for sa in iked.engine.sas.values()}  # no full snapshot needed
    soft = iked.child_soft_lifetimes(only_index) if detail else {}
    views = []
    vpns = engines.intent.ipsec_vpns.values()
    if only_index is not None:  # `index N`: that VPN only, not a sort of all 2000
        vpns = [vpn for vpn in vpns if vpn.tunnel_index == only_index]
    for vpn in sorted(vpns, key=lambda v: v.tunnel_index):
        children = sorted((pair.child for pair in datapath.sad.outbound_pairs(vpn.tunnel_index)
                           if not engines.is_retiring(pair.inbound.spi)), key=lambda c: c.created_at)
        if not children and not detail:
            continue  # the brief listing shows tunnels with SAs only
        used = {}
        for child in children:
            usage = datapath.sa_usage(child.spi_in) if child.lifetime_bytes else None
            if usage is not None:
                used[child.spi_in] = max(usage["inbound_bytes"], usage["outbound_bytes"]) // 1024
        soft_of = {}
        if detail and vpn.manual is None:
            # a dynamic SA past its rekey point (being or already replaced, still installed until its DELETE)
            # has no soft lifetime left: shown as "Expires in 0 seconds" rather than left out
            soft_of = {child.spi_in: soft.get(child.spi_in, 0) for child in children}
        status = (iked.tunnel_status(vpn.tunnel_index) or {}) if detail else {}
        events = [TunnelEvent(when, text, count) for when, text, count in status.get("events", ())]
        ike_port = 500
        if children and children[-1].ike_sa_index in ike_ports:
            ike_port = ike_ports[children[-1].ike_sa_index]
        views.append(from_contracts.ipsec_tunnel_view(
            vpn, children, now, soft_lifetimes=soft_of, kilobytes_used=used, ike_port=ike_port,
            negotiations=status.get("negotiations", 0), negotiation_failures=status.get("negotiation_failures", 0),
            deletions=status.get("deletions", 0), events=events))
    return views


def global_statistics_view(engines: Engines) -> IpsecStatisticsView:
    """`show security ipsec statistics`: every tunnel's counters, removed tunnels' and unattributed errors."""
    return IpsecStatisticsView(**statistics_view_kwargs(engines.datapath.ipsec_statistics()))


def tunnel_statistics_view(engines: Engines, tunnel_index: int) -> IpsecStatisticsView | None:
    """`show security ipsec statistics index N` (one tunnel's counters, not every tunnel's); None: unknown."""
    try:
        values = engines.datapath.ipsec_statistics(tunnel_index)
    except KeyError:
        return None
    return IpsecStatisticsView(**statistics_view_kwargs(values))
