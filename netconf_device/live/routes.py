"""``show route``: the PFE's forwarding table as Junos prints ``inet.0`` / ``inet6.0``.

The routes are the ones the PFE forwards with: direct and local routes of the configured interfaces and
the static routes (into ``st0.N`` for route-based VPNs, or via a gateway). No public capture of an MX
``show route`` reply is in the reference; the element names are Junos' ``route-information`` shape as
PyEZ's route tables read it (``route-table/rt/rt-entry/nh``), the text follows the CLI's layout.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable

from lxml import etree

from netconf_device.pfe.routes import Route
from netconf_device.show.junos_version import junos_area_ns
from netconf_device.show.xmlutil import set_junos_attr, sub, top_element

PROTOCOL_NAMES = {"direct": "Direct", "local": "Local", "static": "Static"}
LEGEND = "+ = Active Route, - = Last Active, * = Both"


class RouteQueryError(ValueError):
    def __init__(self, message: str, element: str) -> None:
        super().__init__(message)
        self.element = element


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    if days >= 7:
        return f"{days // 7}w{days % 7}d {hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}d {clock}" if days else clock


def _select(routes: list[Route], destination: str | None) -> list[Route]:
    if destination is None:
        return routes
    try:
        if "/" in destination:
            wanted = ipaddress.ip_network(destination, strict=False)
            return [r for r in routes if r.prefix == wanted]
        address = ipaddress.ip_address(destination)
    except ValueError:
        raise RouteQueryError(f"invalid destination '{destination}'", "destination") from None
    best = [r for r in routes if r.prefix.version == address.version and address in r.prefix]
    if not best:
        return []
    longest = max(r.prefix.prefixlen for r in best)
    return [r for r in best if r.prefix.prefixlen == longest]


def build_route_information(routes: Iterable[Route], *, since: dict, now: float | None = None,
                            destination: str | None = None, table: str | None = None,
                            protocol: str | None = None, terse: bool = False) -> etree._Element:
    """``<route-information>`` for the active routes; ``since`` maps a route key to its install time."""
    now = time.time() if now is None else now
    if protocol is not None and protocol not in ("direct", "local", "static", "access", "bgp", "ospf", "isis"):
        raise RouteQueryError(f"invalid protocol '{protocol}'", "protocol")
    if table is not None and table not in ("inet.0", "inet6.0"):
        raise RouteQueryError(f"routing table '{table}' not found", "table")
    info = top_element("route-information", area_ns=junos_area_ns("routing"))
    all_routes = list(routes)
    for table_name, version in (("inet.0", 4), ("inet6.0", 6)):
        if table is not None and table != table_name:
            continue
        in_table = [r for r in all_routes if r.prefix.version == version]
        if not in_table:
            continue
        shown = _select(in_table, destination)
        if protocol is not None:
            shown = [r for r in shown if r.protocol == protocol]
        rt_table = sub(info, "route-table")
        sub(rt_table, "table-name", table_name)
        sub(rt_table, "destination-count", len(in_table))
        sub(rt_table, "total-route-count", len(in_table))
        sub(rt_table, "active-route-count", len(in_table))
        sub(rt_table, "holddown-route-count", 0)
        sub(rt_table, "hidden-route-count", 0)
        for route in shown:
            rt = sub(rt_table, "rt")
            set_junos_attr(rt, "style", "terse" if terse else "brief")
            sub(rt, "rt-destination", str(route.prefix))
            entry = sub(rt, "rt-entry")
            sub(entry, "active-tag", "*")
            sub(entry, "current-active")
            sub(entry, "last-active")
            sub(entry, "protocol-name", PROTOCOL_NAMES.get(route.protocol, route.protocol.capitalize()))
            sub(entry, "preference", route.preference)
            age = now - since.get(route_key(route), now)
            set_junos_attr(sub(entry, "age", _age(age)), "seconds", int(max(0, age)))
            if route.kind in ("discard", "reject"):
                sub(entry, "nh-type", "Discard" if route.kind == "discard" else "Reject")
                continue
            if route.kind == "local":
                sub(entry, "nh-type", "Local")
                sub(sub(entry, "nh"), "nh-local-interface", route.interface)
                continue
            nh = sub(entry, "nh")
            sub(nh, "selected-next-hop")
            if route.next_hop is not None:
                sub(nh, "to", str(ipaddress.ip_address(route.next_hop)))
            sub(nh, "via", route.interface)
    return info


def route_key(route: Route) -> tuple:
    return (route.prefix, route.protocol, route.kind, route.interface, route.next_hop)


def render_route_information(info: etree._Element) -> str:
    """CLI text of ``show route`` (brief) or ``show route terse``."""
    lines = []
    for table in info.iterfind("{*}route-table"):
        name = table.findtext("{*}table-name")
        dests = table.findtext("{*}destination-count")
        total = table.findtext("{*}total-route-count")
        active = table.findtext("{*}active-route-count")
        holddown = table.findtext("{*}holddown-route-count")
        hidden = table.findtext("{*}hidden-route-count")
        lines += ["", f"{name}: {dests} destinations, {total} routes ({active} active, {holddown} holddown, "
                      f"{hidden} hidden)"]
        rts = list(table.iterfind("{*}rt"))
        terse = any(v == "terse" for rt in rts for k, v in rt.attrib.items() if k.endswith("style"))
        if terse:
            lines += [LEGEND, "", "A V Destination        P Prf   Metric 1   Metric 2  Next hop        AS path"]
        else:
            lines += [LEGEND, ""]
        for rt in rts:
            dest = rt.findtext("{*}rt-destination")
            for entry in rt.iterfind("{*}rt-entry"):
                proto = entry.findtext("{*}protocol-name") or ""
                pref = entry.findtext("{*}preference") or ""
                age = entry.findtext("{*}age") or ""
                nh = entry.find("{*}nh")
                nh_type = entry.findtext("{*}nh-type")
                via = nh.findtext("{*}via") if nh is not None else None
                to = nh.findtext("{*}to") if nh is not None else None
                local = nh.findtext("{*}nh-local-interface") if nh is not None else None
                if terse:
                    hop = f">{via}" if via else (nh_type or "Local")
                    if to:
                        hop = f">{to}"
                    lines.append(f"* ? {dest:<18} {proto[:1]} {pref:>3}{'':<22}{hop}")
                    continue
                lines.append(f"{dest:<19}*[{proto}/{pref}] {age}")
                if local:
                    lines.append(f"{'':<23}Local via {local}")
                elif nh_type:
                    lines.append(f"{'':<23}{nh_type}")
                elif to:
                    lines.append(f"{'':<20}>  to {to} via {via}")
                else:
                    lines.append(f"{'':<20}>  via {via}")
    return "\n".join(lines) + "\n" if lines else ""
