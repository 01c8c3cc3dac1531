"""``get-interface-information`` (show interfaces [terse|detail|extensive] [name]) from the configuration.

The builder is separate from the RPC so the integration can feed live link state and counters: set
``device.interface_state`` to a callable ``name -> InterfaceState | None`` (physical or logical name);
anything it does not know is reported as configured (up unless ``disable``d, zero counters).
Besides the configured interfaces the box always has ``lo0``, ``fxp0`` and its 48 ``et-`` ports (link down
until configured; layout of ``show/mx304.py``); the internal routing instance
``__juniper_private1__`` holds ``em1.0`` (128.0.0.1 master / 128.0.0.4 re0, see /etc/hosts.junos) and
``lo0.16385``, which PyEZ uses to tell which RE it is talking to.
"""

from __future__ import annotations

import fnmatch
import hashlib
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field

from lxml import etree

from netconf_device.netconf.errors import RpcError
from netconf_device.netconf.xmlsafe import child_text
from netconf_device.rpc.context import RpcContext
from netconf_device.rpc.registry import rpc
from netconf_device.rpc.xmlbuild import area_top, junos_attr, sub
from netconf_device.show.mx304 import FPC_SLOTS, PIC_SLOTS, PORTS_PER_PIC

PRIVATE_INSTANCE = "__juniper_private1__"


@dataclass
class InterfaceState:
    """Live state of one interface (physical or logical), as the PFE knows it."""

    oper_up: bool = True
    input_packets: int = 0
    output_packets: int = 0
    input_bytes: int = 0
    output_bytes: int = 0
    extra: dict[str, str] = field(default_factory=dict)  # more leaves for the detail view


@dataclass
class Address:
    family: str  # inet | inet6
    local: str  # "10.0.0.1/24"


@dataclass
class Unit:
    name: str  # "st0.1"
    description: str | None = None
    disabled: bool = False
    families: dict[str, list[Address]] = field(default_factory=dict)  # family -> addresses (may be empty)
    mtu: dict[str, int] = field(default_factory=dict)


@dataclass
class Physical:
    name: str
    description: str | None = None
    disabled: bool = False
    mtu: int | None = None
    units: list[Unit] = field(default_factory=list)
    configured: bool = True  # False: an installed port nobody configured (its link is down)


def _kind(name: str) -> dict[str, str]:
    """Link-level facts by interface type (what Junos prints for each kind)."""
    if name.startswith(("et-", "xe-", "ge-", "fxp", "em")):
        speed = {"et": "100Gbps", "xe": "10Gbps", "ge": "1000mbps"}.get(name[:2], "1000mbps")
        return {"if-type": "Ethernet", "link-level-type": "Ethernet", "mtu": "1514", "speed": speed}
    if name.startswith("st0"):
        return {"if-type": "Secure-Tunnel", "link-level-type": "Secure-Tunnel", "mtu": "9192", "speed": "Unlimited"}
    if name.startswith("si-"):
        return {"if-type": "Adaptive-Services", "link-level-type": "Adaptive-Services", "mtu": "9192",
                "speed": "800mbps"}
    if name.startswith("lo"):
        return {"if-type": "Loopback", "link-level-type": "Unspecified", "mtu": "Unlimited", "speed": "Unspecified"}
    return {"if-type": "Ethernet", "link-level-type": "Ethernet", "mtu": "1514", "speed": "Unspecified"}


def _mac(seed: str, name: str) -> str:
    digest = hashlib.sha256(f"{seed}/{name}".encode()).digest()
    return "2c:6b:f5:" + ":".join(f"{b:02x}" for b in digest[:3])


def _stable(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big")


def interfaces_from_config(config: etree._Element, *, name: str | None = None,
                           unit_name: str | None = None) -> list[Physical]:
    """The configured interfaces; ``name``: only that physical interface, ``unit_name``: only that unit of it.

    With 2000 VPNs ``st0`` has 2000 units: ``show interfaces st0.7`` must not read them all (the look-ups
    are XPath, evaluated by libxml2)."""
    out: list[Physical] = []
    ifds = config.iterfind("interfaces/interface") if name is None else \
        config.xpath("interfaces/interface[normalize-space(name)=$name]", name=name)
    for ifd in ifds:
        name = (ifd.findtext("name") or "").strip()
        if not name:
            continue
        phys = Physical(
            name,
            description=ifd.findtext("description"),
            disabled=ifd.find("disable") is not None,
            mtu=int(ifd.findtext("mtu")) if (ifd.findtext("mtu") or "").isdigit() else None,
        )
        ifls = ifd.iterfind("unit") if unit_name is None else \
            ifd.xpath("unit[normalize-space(name)=$unit]", unit=unit_name)
        for ifl in ifls:
            unit = Unit(f"{name}.{(ifl.findtext('name') or '0').strip()}",
                        description=ifl.findtext("description"), disabled=ifl.find("disable") is not None)
            family = ifl.find("family")
            for fam in family if family is not None else []:
                if not isinstance(fam.tag, str):
                    continue
                addrs = [Address(fam.tag, (a.findtext("name") or "").strip()) for a in fam.iterfind("address")]
                unit.families[fam.tag] = addrs
                if (fam.findtext("mtu") or "").isdigit():
                    unit.mtu[fam.tag] = int(fam.findtext("mtu"))
            phys.units.append(unit)
        out.append(phys)
    return out


def _builtin(instance: str, name: str | None = None) -> list[Physical]:
    """The interfaces the box has without configuration (``name``: only that one)."""
    return [p for p in _all_builtin(instance) if name is None or p.name == name]


def _all_builtin(instance: str) -> list[Physical]:
    if instance == PRIVATE_INSTANCE:
        em1 = Physical("em1", units=[Unit("em1.0", families={
            "inet": [Address("inet", "10.0.0.4/8"), Address("inet", "128.0.0.1/2"), Address("inet", "128.0.0.4/2")],
            "inet6": [Address("inet6", "fe80::2c6b:f5ff:fe00:4/64")],
            "tnp": [Address("tnp", "0x4")],
        })])
        lo0 = Physical("lo0", units=[Unit("lo0.16385", families={"inet": []})])
        return [em1, lo0]
    ports = [Physical(f"et-{fpc}/{pic}/{port}", configured=False)
             for fpc in FPC_SLOTS for pic in PIC_SLOTS for port in range(PORTS_PER_PIC)]
    return [Physical("fxp0"), Physical("lo0"), *ports]


def _merge(builtin: list[Physical], configured: list[Physical]) -> list[Physical]:
    by_name = {p.name: p for p in builtin}
    for phys in configured:
        by_name[phys.name] = phys
    return sorted(by_name.values(), key=lambda p: _sort_key(p.name))


def _sort_key(name: str) -> tuple:
    parts = []
    for token in name.replace("/", " ").replace("-", " ").replace(".", " ").split():
        parts.append((0, int(token), "") if token.isdigit() else (1, 0, token))
    return tuple(parts)


class InterfaceInfoBuilder:
    """Builds ``<interface-information>`` for one request."""

    def __init__(self, device, state: Callable[[str], InterfaceState | None] | None = None) -> None:
        self.device = device
        self.ns = device.junos_ns
        self.state = state or (lambda name: None)

    def _interfaces(self, instance: str | None, name: str | None, unit_name: str | None) -> list[Physical]:
        """The physical interfaces of ``instance`` (``name``: only that one, ``unit_name``: with only that unit)."""
        if instance and instance not in ("default", "all", PRIVATE_INSTANCE, "master"):
            return []
        if instance == PRIVATE_INSTANCE:
            return _builtin(PRIVATE_INSTANCE, name)
        configured = interfaces_from_config(self.device.running_config(), name=name, unit_name=unit_name)
        interfaces = _merge(_builtin("default", name), configured)
        if instance == "all":
            interfaces += _builtin(PRIVATE_INSTANCE, name)
        return interfaces

    def build(self, *, names: str | None = None, level: str = "normal", instance: str | None = None) -> etree._Element:
        exact = names is not None and not any(c in names for c in "*?[")
        # An exact name is looked up, not matched against every interface: st0.N with 2000 units.
        physical, _, unit = names.partition(".") if exact else (None, "", "")
        interfaces = self._interfaces(instance, physical, unit or None)
        info = area_top("interface-information", "interface", self.ns, {junos_attr(self.ns, "style"): level})
        matched = False
        for phys in interfaces:
            if names and "." in names and not any(c in names for c in "*?["):
                for unit in phys.units:
                    if unit.name == names:
                        self._logical(info, unit, phys, level)
                        matched = True
                continue
            if names and not fnmatch.fnmatchcase(phys.name, names):
                continue
            matched = True
            self._physical(info, phys, level)
        if names and not matched:
            raise RpcError(f"device {names} not found", bad_element=names)
        return info

    def _status(self, name: str, disabled: bool, parent_up: bool = True, configured: bool = True) -> tuple[str, str]:
        st = self.state(name)
        admin = "down" if disabled else "up"
        oper_up = (st.oper_up if st is not None else configured) and not disabled and parent_up
        return admin, "up" if oper_up else "down"

    def _physical(self, parent: etree._Element, phys: Physical, level: str) -> None:
        node = sub(parent, "physical-interface")
        sub(node, "name", phys.name)
        admin, oper = self._status(phys.name, phys.disabled, configured=phys.configured)
        sub(node, "admin-status", admin, {junos_attr(self.ns, "format"): "Enabled" if admin == "up" else "Disabled"})
        sub(node, "oper-status", oper)
        if level != "terse":
            kind = _kind(phys.name)
            sub(node, "local-index", 128 + _stable(phys.name) % 400)
            sub(node, "snmp-index", 500 + _stable(phys.name) % 500)
            if phys.description:
                sub(node, "description", phys.description)
            sub(node, "if-type", kind["if-type"])
            sub(node, "link-level-type", kind["link-level-type"])
            sub(node, "mtu", phys.mtu or kind["mtu"])
            sub(node, "speed", kind["speed"])
            if kind["if-type"] == "Ethernet":
                mac = _mac(self.device.identity.serial_number, phys.name)
                sub(node, "current-physical-address", mac)
                sub(node, "hardware-physical-address", mac)
            sub(node, "interface-flapped", "Never", {junos_attr(self.ns, "seconds"): "0"})
            self._traffic(node, phys.name)
        for unit in phys.units:
            self._logical(node, unit, phys, level, parent_oper=oper)

    def _traffic(self, parent: etree._Element, name: str) -> None:
        st = self.state(name) or InterfaceState()
        stats = sub(parent, "traffic-statistics", attrib={junos_attr(self.ns, "style"): "brief"})
        sub(stats, "input-bytes", st.input_bytes)
        sub(stats, "output-bytes", st.output_bytes)
        sub(stats, "input-packets", st.input_packets)
        sub(stats, "output-packets", st.output_packets)

    def _logical(self, parent: etree._Element, unit: Unit, phys: Physical, level: str,
                 parent_oper: str | None = None) -> None:
        if parent_oper is None:
            parent_oper = self._status(phys.name, phys.disabled, configured=phys.configured)[1]
        node = sub(parent, "logical-interface")
        sub(node, "name", unit.name)
        admin, oper = self._status(unit.name, unit.disabled, parent_up=parent_oper == "up")
        sub(node, "admin-status", admin)
        sub(node, "oper-status", oper)
        if level != "terse":
            if unit.description:
                sub(node, "description", unit.description)
            self._traffic(node, unit.name)
        sub(node, "filter-information")
        for family, addrs in unit.families.items():
            fam = sub(node, "address-family")
            sub(fam, "address-family-name", family)
            if level != "terse":
                mtu = unit.mtu.get(family) or (9178 if phys.name.startswith("st0") else 1500)
                sub(fam, "mtu", mtu)
            for addr in addrs:
                ifa = sub(fam, "interface-address")
                sub(ifa, "ifa-local", addr.local, {junos_attr(self.ns, "emit"): "emit"})
                if level != "terse" and family in ("inet", "inet6"):
                    try:
                        net = ipaddress.ip_interface(addr.local).network
                        sub(ifa, "ifa-destination", str(net))
                        if family == "inet":
                            sub(ifa, "ifa-broadcast", str(net.broadcast_address))
                    except ValueError:
                        pass


@rpc("get-interface-information")
def get_interface_information(ctx: RpcContext, req: etree._Element) -> etree._Element:
    """show interfaces"""
    level = "normal"
    for candidate in ("terse", "brief", "detail", "extensive", "statistics"):
        if req.find(candidate) is not None:
            level = "detail" if candidate == "statistics" and level == "normal" else candidate
    if req.find("terse") is not None:
        level = "terse"
    builder = InterfaceInfoBuilder(ctx.device, getattr(ctx.device, "interface_state", None))
    return builder.build(
        names=child_text(req, "interface-name"),
        level=level,
        instance=child_text(req, "routing-instance"),
    )
