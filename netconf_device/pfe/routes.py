"""Longest-prefix-match routing for IPv4 and IPv6, prepared once per configuration.

The table holds one dictionary per prefix length (network number -> route); a lookup tries the lengths
present, longest first. Results are memoised per destination in a bounded cache, so a flow costs one
dictionary lookup per packet. Route preference follows Junos: local and direct (0) beat static (5).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

RouteKind = Literal["local", "direct", "interface", "tunnel", "discard", "reject"]

PREFERENCE = {"local": 0, "direct": 0, "static": 5}
CACHE_LIMIT = 65536


@dataclass(frozen=True, slots=True)
class Route:
    """A resolved route: where packets to ``prefix`` go.

    ``interface`` is the egress logical interface ("et-0/2/10.0", "st0.1"); ``next_hop`` the gateway
    address when the route is via one (informational: wires are point to point). ``local`` routes are the
    device's own addresses.
    """

    prefix: ipaddress.IPv4Network | ipaddress.IPv6Network
    kind: RouteKind
    interface: str | None = None
    next_hop: bytes | None = None
    protocol: str = "static"  # "local" | "direct" | "static" (for show route)
    preference: int = 5


class RouteTable:
    """Prepared LPM tables; ``lookup`` takes a raw 4- or 16-byte address."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes: dict[ipaddress.IPv4Network | ipaddress.IPv6Network, Route] = {}
        for route in routes:
            current = self.routes.get(route.prefix)
            if current is None or route.preference < current.preference:
                self.routes[route.prefix] = route
        tables: dict[int, dict[int, dict[int, Route]]] = {4: {}, 6: {}}
        for prefix, route in self.routes.items():
            bits = 32 if prefix.version == 4 else 128
            shift = bits - prefix.prefixlen
            tables[prefix.version].setdefault(prefix.prefixlen, {})[int(prefix.network_address) >> shift] = route
        self._v4 = [(32 - length, tables[4][length]) for length in sorted(tables[4], reverse=True)]
        self._v6 = [(128 - length, tables[6][length]) for length in sorted(tables[6], reverse=True)]
        self._cache: dict[bytes, Route | None] = {}

    def lookup(self, address: bytes) -> Route | None:
        """The longest-prefix route for a raw address, or None when nothing matches."""
        cache = self._cache
        try:
            return cache[address]
        except KeyError:
            pass
        value = int.from_bytes(address, "big")
        result = None
        for shift, table in self._v4 if len(address) == 4 else self._v6:
            result = table.get(value >> shift)
            if result is not None:
                break
        if len(cache) >= CACHE_LIMIT:
            cache.clear()  # bounded: a scan of random destinations must not grow memory
        cache[address] = result
        return result

    def __iter__(self):
        return iter(sorted(self.routes.values(), key=lambda r: (r.prefix.version, r.prefix)))

    def __len__(self) -> int:
        return len(self.routes)
