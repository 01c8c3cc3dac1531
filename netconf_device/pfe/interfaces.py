"""The PFE's view of interfaces: logical units with addresses, MTU, state and counters.

Wires attach to physical interfaces ("et-0/1/8"); a packet arriving there belongs to unit 0 (wires are
untagged). Logical names ("et-0/1/8.0") are accepted as well. Egress is reported as the physical name,
which is what a wire is attached to.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from netconf_device.config.intent import Intent, PhysicalInterface
from netconf_device.pfe.counters import CounterStore, InterfaceCounters
from netconf_device.pfe.routes import PREFERENCE, Route

#: Junos media MTU of Ethernet interfaces includes the 14-byte Ethernet header.
ETHERNET_HEADER = 14
DEFAULT_IP_MTU = 1500
#: Junos' default MTU of secure tunnel (st0) interfaces.
ST0_DEFAULT_MTU = 9192
LOOPBACK_MTU = 65535


def interface_kind(physical: str) -> str:
    if physical.startswith("st0"):
        return "st0"
    if physical.startswith("si-"):
        return "si"
    if physical == "lo0":
        return "lo0"
    return "ethernet"


@dataclass(slots=True, eq=False)
class Port:
    """A logical interface as the datapath uses it."""

    name: str
    physical: str
    kind: str
    unit: int
    mtu: int
    disabled: bool
    inet: tuple[ipaddress.IPv4Interface, ...]
    inet6: tuple[ipaddress.IPv6Interface, ...]
    counters: InterfaceCounters
    service_domain: str | None = None
    raw4: tuple[bytes, ...] = field(default=())
    raw6: tuple[bytes, ...] = field(default=())

    def address(self, version: int) -> bytes | None:
        """The primary address of a family (what ICMP errors from this interface carry)."""
        raw = self.raw4 if version == 4 else self.raw6
        if version == 6:
            # Prefer a global address over link-local for errors that may cross a router.
            for candidate in raw:
                if candidate[:2] != b"\xfe\x80":
                    return candidate
        return raw[0] if raw else None


class InterfaceTable:
    """Ports built from the intent, plus the lookups the datapath needs."""

    def __init__(self, ports: Iterable[Port]) -> None:
        self.ports: dict[str, Port] = {}
        self.ingress: dict[str, Port] = {}
        self.own: dict[bytes, Port] = {}
        for port in ports:
            self.ports[port.name] = port
            self.ingress[port.name] = port
            # Untagged wires: a physical name means unit 0 (or the only unit).
            if port.unit == 0 or port.physical not in self.ingress:
                self.ingress[port.physical] = port
            for raw in port.raw4 + port.raw6:
                self.own.setdefault(raw, port)

    @classmethod
    def from_intent(cls, intent: Intent, counters: CounterStore) -> InterfaceTable:
        ports = []
        for physical in intent.interfaces.values():
            ports.extend(_ports_of(physical, counters))
        return cls(ports)

    def connected_routes(self) -> list[Route]:
        """Direct routes for each configured subnet and local routes for each own address."""
        routes: list[Route] = []
        for port in self.ports.values():
            if port.disabled:
                continue
            for iface in port.inet + port.inet6:
                if iface.network.prefixlen < iface.max_prefixlen:
                    routes.append(Route(iface.network, "direct", port.name, protocol="direct",
                                        preference=PREFERENCE["direct"]))
                host = ipaddress.ip_network(f"{iface.ip}/{iface.max_prefixlen}")
                routes.append(Route(host, "local", port.name, protocol="local", preference=PREFERENCE["local"]))
        return routes

    def any_address(self, version: int, prefer: Iterable[Port] = ()) -> bytes | None:
        """An address of the family: from the preferred ports first, then lo0, then any port."""
        for port in prefer:
            if port is not None:
                address = port.address(version)
                if address:
                    return address
        loopback = self.ports.get("lo0.0")
        if loopback is not None and loopback.address(version):
            return loopback.address(version)
        for port in self.ports.values():
            address = port.address(version)
            if address:
                return address
        return None


def _ports_of(physical: PhysicalInterface, counters: CounterStore) -> list[Port]:
    kind = interface_kind(physical.name)
    if kind == "st0":
        default_mtu = ST0_DEFAULT_MTU
    elif kind == "lo0":
        default_mtu = LOOPBACK_MTU
    elif physical.mtu:
        default_mtu = physical.mtu - ETHERNET_HEADER
    else:
        default_mtu = DEFAULT_IP_MTU
    ports = []
    for unit in physical.units:
        ports.append(
            Port(
                name=unit.name,
                physical=physical.name,
                kind=kind,
                unit=unit.unit,
                mtu=unit.mtu or default_mtu,
                disabled=physical.disabled or unit.disabled,
                inet=unit.inet,
                inet6=unit.inet6,
                counters=counters.interface(unit.name),
                service_domain=unit.service_domain,
                raw4=tuple(i.ip.packed for i in unit.inet),
                raw6=tuple(i.ip.packed for i in unit.inet6),
            )
        )
    return ports
