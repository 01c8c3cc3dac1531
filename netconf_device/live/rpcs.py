"""The live operational RPCs of a device with engines: IKE/IPsec show and clear, routes, PIC detail.

Each handler takes one snapshot of the engines (``live.views``), builds the Junos XML with
``netconf_device.show`` (or ``live.routes``) and lets the registry render text and JSON from it, so
``<command>``, ``| display xml`` and ``| display json`` agree. Added to the device's registry by
``Device(engines=True)``; the rows of ``rpc/commands.py`` map the CLI text to these RPCs.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable

from lxml import etree

from netconf_device.live import views
from netconf_device.live.routes import RouteQueryError, build_route_information, render_route_information
from netconf_device.netconf.errors import RpcError
from netconf_device.netconf.xmlsafe import child_text
from netconf_device.rpc.context import RpcContext
from netconf_device.rpc.interfaces import InterfaceState
from netconf_device.rpc.registry import rpc
from netconf_device.rpc.render import generic_text, text_renderer
from netconf_device.show import from_contracts, queries, replies
from netconf_device.show.security_text import tunnel_event_lines
from netconf_device.show.security_xml import add_tunnel_events
from netconf_device.show.text import TEXT_RENDERERS, is_pic_detail
from netconf_device.show.views import IpsecStatisticsView, TunnelEvent
from netconf_device.show.xmlutil import sub, top_element


def _engines(ctx: RpcContext):
    engines = getattr(ctx.device, "engines", None)
    if engines is None:
        raise RpcError("the IKE daemon and the PFE are not running on this device", tag="operation-failed",
                       error_type="application")
    return engines


def _known_arguments(req: etree._Element, known: set[str]) -> None:
    """An argument the RPC does not take is a syntax error, as on Junos (never silently ignored)."""
    for element in req:
        if isinstance(element.tag, str) and etree.QName(element).localname not in known:
            name = etree.QName(element).localname
            raise RpcError(f"syntax error: unexpected argument '{name}'", tag="unknown-element",
                           error_type="application", bad_element=name)


def _argument_errors(handler: Callable[[RpcContext, etree._Element], object]):
    """A bad argument of a show/clear command (``queries.ShowArgumentError``) becomes the Junos rpc-error."""

    @functools.wraps(handler)
    def handle(ctx: RpcContext, req: etree._Element):
        try:
            return handler(ctx, req)
        except queries.ShowArgumentError as exc:
            raise RpcError(exc.message, tag=exc.tag, error_type="application", bad_element=exc.element) from None

    return handle


# =========================================================================================== IKE
@rpc("get-ike-security-associations-information")
@_argument_errors
def get_ike_security_associations_information(ctx: RpcContext, req: etree._Element) -> etree._Element:
    """show security ike security-associations"""
    engines = _engines(ctx)
    query = queries.parse_ike_sa_query(req)
    # `index N` prints the detail form unless `brief` is given; without an index, brief unless `detail`
    brief = query.level == "brief" or (query.level is None and query.index is None)
    sas = views.ike_sa_views(engines, brief=brief, index=query.index)
    return replies.ike_security_associations_reply(req, sas)


@rpc("get-ike-active-peers-information")
@_argument_errors
def get_ike_active_peers_information(ctx: RpcContext, req: etree._Element) -> etree._Element:
    """show security ike active-peer"""
    engines = _engines(ctx)
    return replies.ike_active_peers_reply(req, views.active_peer_views(engines))


@rpc("clear-ike-security-association", permission="clear")
@_argument_errors
def clear_ike_security_association(ctx: RpcContext, req: etree._Element) -> list:
    """clear security ike security-associations"""
    engines = _engines(ctx)
    query = queries.parse_clear_ike_sa_query(req)
    engines.iked.clear_ike_sa(index=query.index, peer=query.peer_address)
    return []


# =========================================================================================== IPsec
@rpc("get-security-associations-information")
@_argument_errors
def get_security_associations_information(ctx: RpcContext, req: etree._Element) -> etree._Element:
    """show security ipsec security-associations"""
    engines = _engines(ctx)
    query = queries.parse_ipsec_sa_query(req)
    # `index N` prints the detail form unless `brief` is given (docs/show-commands.md)
    detail = query.level == "detail" or (query.index is not None and query.level != "brief")
    tunnels = views.ipsec_tunnel_views(engines, only_index=query.index, detail=detail)
    return replies.ipsec_security_associations_reply(req, tunnels)


@rpc("get-ipsec-statistics-information")
@_argument_errors
def get_ipsec_statistics_information(ctx: RpcContext, req: etree._Element) -> etree._Element:
    """show security ipsec statistics"""
    engines = _engines(ctx)
    index = queries.parse_ipsec_statistics_query(req).index
    if index is None:
        return replies.ipsec_statistics_reply(req, views.global_statistics_view(engines), {})
    one = views.tunnel_statistics_view(engines, index)
    return replies.ipsec_statistics_reply(req, IpsecStatisticsView(), {} if one is None else {index: one})


@rpc("clear-ipsec-statistics", permission="clear")
@_argument_errors
def clear_ipsec_statistics(ctx: RpcContext, req: etree._Element) -> list:
    """clear security ipsec statistics"""
    engines = _engines(ctx)
    engines.datapath.clear_ipsec_statistics(queries.parse_clear_ipsec_statistics_query(req).index)
    return []


@rpc("clear-ipsec-security-association", permission="clear")
@_argument_errors
def clear_ipsec_security_association(ctx: RpcContext, req: etree._Element) -> list:
    """clear security ipsec security-associations"""
    engines = _engines(ctx)
    engines.iked.clear_ipsec_sa(queries.parse_clear_ipsec_sa_query(req).index)
    return []


@rpc("get-inactive-tunnels")
def get_inactive_tunnels(ctx: RpcContext, req: etree._Element) -> etree._Element:
    """show security ipsec inactive-tunnels: configured VPNs without SAs, and why."""
    engines = _engines(ctx)
    _known_arguments(req, {"brief", "detail", "family", "fpc", "pic", "kmd-instance", "node-local"})
    detail = req.find("detail") is not None
    top = top_element("ipsec-unestablished-tunnel-information", style="detail" if detail else "brief")
    inactive = [vpn for vpn in sorted(engines.intent.ipsec_vpns.values(), key=lambda v: v.tunnel_index)
                if not engines.datapath.sad.outbound_pairs(vpn.tunnel_index)]
    sub(top, "total-inactive-tunnels", len(inactive))
    sub(top, "total-inactive-tunnels-with-establish-immediately",
        sum(vpn.establish_tunnels == "immediately" for vpn in inactive))
    for vpn in inactive:
        status = engines.iked.tunnel_status(vpn.tunnel_index) or {}
        gateway_error = ""
        if vpn.gateway is not None:
            gateway_error = engines.iked.engine.gateway_status(vpn.gateway.name).get("last_error", "")
        block = sub(top, "ipsec-security-associations-block")
        sa = sub(block, "ipsec-security-associations")
        sub(sa, "sa-tunnel-index", vpn.tunnel_index)
        sub(sa, "sa-vpn-name", vpn.name)
        remote = vpn.gateway.addresses[0] if vpn.gateway and vpn.gateway.addresses else (
            str(vpn.manual.gateway) if vpn.manual else "")
        sub(sa, "sa-remote-gateway", remote)
        sub(sa, "sa-port", 500)
        sub(sa, "sa-negotiations", status.get("negotiations", 0))
        sub(sa, "sa-negotiation-failures", status.get("negotiation_failures", 0))
        sub(sa, "sa-establish-tunnels", vpn.establish_tunnels)
        reason = status.get("last_error") or gateway_error or _waiting_reason(vpn.establish_tunnels)
        sub(sa, "sa-tunnel-down-reason", reason)
        add_tunnel_events(sa, [TunnelEvent(*event) for event in status.get("events", ())[: (10 if detail else 1)]])
    return top


def _waiting_reason(establish: str) -> str:
    return {"on-traffic": "Waiting for traffic", "responder-only": "Waiting for the peer to negotiate"}.get(
        establish, "Negotiation in progress")


@text_renderer("ipsec-unestablished-tunnel-information")
def render_inactive_tunnels(top: etree._Element) -> str:
    lines = [f"  Total inactive tunnels: {top.findtext('{*}total-inactive-tunnels')}",
             "  Total inactive tunnels with establish immediately: "
             f"{top.findtext('{*}total-inactive-tunnels-with-establish-immediately')}", ""]
    blocks = top.findall("{*}ipsec-security-associations-block/{*}ipsec-security-associations")
    if blocks:
        lines.append(f"  {'ID':<8}{'Port':<6}{'Nego#':<7}{'Fail#':<7}{'Gateway':<17}Tunnel Down Reason")
    for sa in blocks:
        lines.append(f"  {sa.findtext('{*}sa-tunnel-index'):<8}{sa.findtext('{*}sa-port'):<6}"
                     f"{sa.findtext('{*}sa-negotiations'):<7}{sa.findtext('{*}sa-negotiation-failures'):<7}"
                     f"{sa.findtext('{*}sa-remote-gateway'):<17}{sa.findtext('{*}sa-tunnel-down-reason')}")
        lines += tunnel_event_lines(sa)
    return "\n".join(lines) + "\n"


# =========================================================================================== chassis, routes
@rpc("get-pic-detail")
@_argument_errors
def get_pic_detail(ctx: RpcContext, req: etree._Element) -> etree._Element:
    """show chassis pic fpc-slot F pic-slot P (the seed's `show chassis fpc F pic P`)"""
    engines = _engines(ctx)
    uptime = int(time.time() - ctx.device.identity.boot_time)
    return replies.pic_detail_reply(req, ipsec_wan_interfaces=from_contracts.ipsec_wan_interfaces(engines.intent),
                                    uptime_seconds=uptime)


@rpc("get-route-information")
def get_route_information(ctx: RpcContext, req: etree._Element) -> etree._Element:
    """show route"""
    engines = _engines(ctx)
    _known_arguments(req, {"destination", "table", "protocol", "terse", "detail", "extensive", "brief",
                           "active-path", "all"})
    try:
        return build_route_information(
            engines.datapath.routes, since=engines.route_since, destination=child_text(req, "destination"),
            table=child_text(req, "table"), protocol=child_text(req, "protocol"),
            terse=req.find("terse") is not None)
    except RouteQueryError as exc:
        raise RpcError(str(exc), tag="invalid-value", error_type="application", bad_element=exc.element) from None


@text_renderer("route-information")
def route_information_text(top: etree._Element) -> str:
    return render_route_information(top)


def _security_text(tag: str) -> Callable[[etree._Element], str]:
    renderer = TEXT_RENDERERS[tag]

    def render(top: etree._Element) -> str:
        return renderer(top)

    render.__text_renderer_for__ = (tag,)  # type: ignore[attr-defined]
    return render


render_ike_security_associations = _security_text("ike-security-associations-information")
render_ike_active_peers = _security_text("ike-active-peers-information")
render_ipsec_security_associations = _security_text("ipsec-security-associations-information")
render_ipsec_statistics = _security_text("usp-ipsec-total-statistics-information")


@text_renderer("fpc-information")
def render_fpc_information(top: etree._Element) -> str:
    """`show chassis fpc F pic P` prints the PIC detail; other fpc-information forms the generic listing."""
    return TEXT_RENDERERS["fpc-information"](top) if is_pic_detail(top) else generic_text(top)


# =========================================================================================== interfaces
def interface_state_reader(device) -> Callable[[str], InterfaceState | None]:
    """``device.interface_state``: link state and traffic counters from the PFE (st0.N follows its tunnel).

    A `show interfaces` asks for every interface one by one; the counters of all of them are read once per
    event-loop turn (one snapshot per request: 2000 st0 units cost one pass, not 2000)."""
    cache: dict[str, tuple] = {}

    def snapshot() -> tuple[dict, dict]:
        if "snap" in cache:
            return cache["snap"]
        datapath = device.engines.datapath
        units: dict[str, list] = {}
        for port in datapath.interfaces.ports.values():
            units.setdefault(port.physical, []).append(port)
        snap = (datapath.interface_statistics(), units)
        try:
            asyncio.get_running_loop().call_soon(cache.clear)
            cache["snap"] = snap
        except RuntimeError:  # no event loop (a direct call): nothing to share the snapshot with
            pass
        return snap

    def state(name: str) -> InterfaceState | None:
        datapath = device.engines.datapath
        counters_by_name, units = snapshot()
        if "." in name:
            if name not in datapath.interfaces.ports:
                return None
            up = datapath.interface_oper_up(name)
        else:
            if name not in units:
                return None
            up = any(not p.disabled for p in units[name])
        counters = counters_by_name.get(name) or {}
        return InterfaceState(oper_up=up, input_packets=counters.get("input_packets", 0),
                              output_packets=counters.get("output_packets", 0),
                              input_bytes=counters.get("input_bytes", 0),
                              output_bytes=counters.get("output_bytes", 0))

    return state
