"""``--wire`` specifications: which physical interface of the device meets the outside world, and how.

Syntax (stable: the lab launcher writes it)::

    IFD=udp:LOCAL_IP:LOCAL_PORT:REMOTE_IP:REMOTE_PORT      unprivileged UDP link, one IP packet per datagram
    IFD=tun:NAME[,netns=NS][,address=CIDR]...[,route=PREFIX]...[,mtu=N]   a Linux TUN device (root)

``IFD`` is a physical interface of the configuration (``et-0/2/10``; a packet arriving there belongs to
unit 0). IPv6 addresses of a UDP wire go in brackets (``udp:[::1]:40001:[::1]:40002``). For a TUN wire,
``netns`` moves the Linux side into an existing network namespace, ``address`` (repeatable) gives it
addresses and ``route`` (repeatable) adds routes through it (``route=default``, ``route=2.2.2.0/24``).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

_IFD = re.compile(r"^(et|xe|ge)-\d+/\d+/\d+(:\d+)?$|^(fxp0|em\d+)$")
_UDP = re.compile(r"^(\[[^\]]+\]|[^:\[\]]+):(\d+):(\[[^\]]+\]|[^:\[\]]+):(\d+)$")
_TUN_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")
_NETNS = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class WireSpecError(ValueError):
    """A ``--wire`` value that cannot be used (the message says why)."""


@dataclass(frozen=True)
class UdpWireSpec:
    interface: str
    local: tuple[str, int]
    remote: tuple[str, int]

    def __str__(self) -> str:
        return f"{self.interface}=udp:{_host(self.local[0])}:{self.local[1]}:{_host(self.remote[0])}:{self.remote[1]}"


@dataclass(frozen=True)
class TunWireSpec:
    interface: str
    name: str
    netns: str | None = None
    addresses: tuple[str, ...] = ()
    routes: tuple[str, ...] = ()
    mtu: int = 1500

    def __str__(self) -> str:
        options = [f"netns={self.netns}"] if self.netns else []
        options += [f"address={a}" for a in self.addresses] + [f"route={r}" for r in self.routes]
        if self.mtu != 1500:
            options.append(f"mtu={self.mtu}")
        return f"{self.interface}=tun:" + ",".join([self.name, *options])


WireSpec = UdpWireSpec | TunWireSpec


def _host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def _address(text: str, what: str) -> str:
    bare = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        raise WireSpecError(f"{what} {text!r} is not an IP address") from None


def _port(text: str, what: str) -> int:
    port = int(text)
    if not 0 < port < 65536:
        raise WireSpecError(f"{what} {port} out of range 1..65535")
    return port


def parse_wire(text: str) -> WireSpec:
    """Parse one ``--wire`` value; raises ``WireSpecError`` with a clear message."""
    interface, sep, rest = text.partition("=")
    interface = interface.strip()
    if not sep or not interface:
        raise WireSpecError(f"wire {text!r}: expected IFD=udp:... or IFD=tun:...")
    if "." in interface or not _IFD.match(interface):
        raise WireSpecError(f"wire {text!r}: {interface!r} is not a physical interface name (e.g. et-0/2/10)")
    kind, _, body = rest.partition(":")
    if kind == "udp":
        match = _UDP.match(body)
        if not match:
            raise WireSpecError(f"wire {text!r}: expected udp:LOCAL_IP:LOCAL_PORT:REMOTE_IP:REMOTE_PORT")
        local = (_address(match[1], "local address"), _port(match[2], "local port"))
        remote = (_address(match[3], "remote address"), _port(match[4], "remote port"))
        if ipaddress.ip_address(local[0]).version != ipaddress.ip_address(remote[0]).version:
            raise WireSpecError(f"wire {text!r}: local and remote address families differ")
        return UdpWireSpec(interface, local, remote)
    if kind == "tun":
        name, *options = body.split(",")
        if not _TUN_NAME.match(name):
            raise WireSpecError(f"wire {text!r}: TUN name {name!r} must be 1-15 letters, digits, '_', '-' or '.'")
        netns, addresses, routes, mtu = None, [], [], 1500
        for option in options:
            key, sep, value = option.partition("=")
            if not sep or not value:
                raise WireSpecError(f"wire {text!r}: option {option!r} is not KEY=VALUE")
            if key == "netns":
                if not _NETNS.match(value):
                    raise WireSpecError(f"wire {text!r}: bad namespace name {value!r}")
                netns = value
            elif key == "address":
                try:
                    addresses.append(str(ipaddress.ip_interface(value)))
                except ValueError:
                    raise WireSpecError(f"wire {text!r}: address {value!r} is not ADDRESS/PREFIX") from None
            elif key == "route":
                if value != "default":
                    try:
                        value = str(ipaddress.ip_network(value, strict=False))
                    except ValueError:
                        raise WireSpecError(f"wire {text!r}: route {value!r} is not a prefix or 'default'") from None
                routes.append(value)
            elif key == "mtu":
                if not value.isdigit() or not 68 <= int(value) <= 65535:
                    raise WireSpecError(f"wire {text!r}: mtu {value!r} out of range 68..65535")
                mtu = int(value)
            else:
                raise WireSpecError(f"wire {text!r}: unknown option {key!r} (netns, address, route, mtu)")
        return TunWireSpec(interface, name, netns, tuple(addresses), tuple(routes), mtu)
    raise WireSpecError(f"wire {text!r}: unknown kind {kind!r} (udp or tun)")


def parse_wires(texts: list[str]) -> list[WireSpec]:
    """Parse every ``--wire``; one interface may have one wire only."""
    specs = [parse_wire(t) for t in texts]
    seen: set[str] = set()
    for spec in specs:
        if spec.interface in seen:
            raise WireSpecError(f"interface {spec.interface} has more than one wire")
        seen.add(spec.interface)
    return specs


async def open_wire(spec: WireSpec):
    """Open the wire a spec describes (TunWire needs root)."""
    if isinstance(spec, UdpWireSpec):
        from netconf_device.pfe.wires.udp import UdpWire

        return await UdpWire(spec.local, spec.remote, name=spec.interface).open()
    from netconf_device.pfe.wires.tun import TunWire

    return await TunWire(spec.name, netns=spec.netns, addresses=spec.addresses, routes=spec.routes,
                         mtu=spec.mtu).open()
