"""Traffic selectors: from the intent's networks to TS ranges, narrowing (RFC 7296 §2.9), back to networks."""

from __future__ import annotations

import functools
import ipaddress

from . import message as m

ANY_V4 = ipaddress.ip_network("0.0.0.0/0")
ANY_V6 = ipaddress.ip_network("::/0")


def from_network(net) -> m.TrafficSelector:
    net = ipaddress.ip_network(net)
    ts_type = m.TS_IPV4_ADDR_RANGE if net.version == 4 else m.TS_IPV6_ADDR_RANGE
    return m.TrafficSelector(ts_type, 0, 0, 65535, net.network_address, net.broadcast_address)


def to_networks(selectors: list[m.TrafficSelector]) -> tuple:
    nets: list = []
    for ts in selectors:
        nets.extend(_range_networks(ts.start, ts.end))
    return tuple(nets)


@functools.lru_cache(maxsize=8192)
def _range_networks(start, end) -> tuple:
    """The CIDR blocks covering start..end (usually one: selectors come from configured prefixes)."""
    return tuple(ipaddress.summarize_address_range(start, end))


def intersect(a: m.TrafficSelector, b: m.TrafficSelector) -> m.TrafficSelector | None:
    if a.ts_type != b.ts_type:
        return None
    if a.ip_proto and b.ip_proto and a.ip_proto != b.ip_proto:
        return None
    proto = a.ip_proto or b.ip_proto
    sp, ep = max(a.start_port, b.start_port), min(a.end_port, b.end_port)
    start, end = max(a.start, b.start), min(a.end, b.end)
    if sp > ep or start > end:
        return None
    return m.TrafficSelector(a.ts_type, proto, sp, ep, start, end)


def narrow(offered: list[m.TrafficSelector], ours: list[m.TrafficSelector]) -> list[m.TrafficSelector]:
    """Every non-empty intersection of an offered selector with one of ours, without duplicates."""
    out: list[m.TrafficSelector] = []
    for o in offered:
        for mine in ours:
            x = intersect(o, mine)
            if x is not None and x not in out:
                out.append(x)
    return out


def covers(outer: list[m.TrafficSelector], inner: list[m.TrafficSelector]) -> bool:
    """Is every inner selector inside one of the outer ones (a responder may only narrow)?"""
    return all(any(intersect(i, o) == i for o in outer) for i in inner)


def display(selectors: list[m.TrafficSelector]) -> str:
    return ", ".join(str(n) for n in to_networks(selectors))
