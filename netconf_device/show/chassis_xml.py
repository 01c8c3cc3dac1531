"""View -> XML reply of `show chassis pic fpc-slot F pic-slot P` / `show chassis fpc F pic P` (get-pic-detail).

No capture of this reply exists (reference/junos-xml.md §1.11, gap 7). The shape is DERIVED from the YANG
(``fpc-information/fpc/pic-detail`` with ``port-information/port``) and the PTX CLI capture of the port
table. The port-group and IPsec WAN elements are DERIVED from the seed (port group 0 of each PFE slice
carries IPsec: 300 Gbps IPsec + 100 Gbps other), with self-explanatory names in Junos style; see
docs/show-commands.md.
"""

from __future__ import annotations

from netconf_device.show import junos_names as names
from netconf_device.show.junos_version import junos_area_ns
from netconf_device.show.views import PicDetailView
from netconf_device.show.xmlutil import Element, LeafRow, set_junos_attr, sub, top_element


def _yes_no(flag: bool) -> str:
    return "Yes" if flag else "No"


def ipsec_wan_status(ipsec_wan: bool, ipsec_capable: bool) -> str:
    """WAN status of a port: an IPsec WAN port outside an IPsec-capable port group is misplaced."""
    if not ipsec_wan:
        return "-"
    return "OK" if ipsec_capable else "Port group not IPsec capable"


def build_pic_detail(pic: PicDetailView) -> Element:
    """``<fpc-information xmlns=".../junos-chassis">`` with one ``fpc/pic-detail``."""
    top = top_element("fpc-information", area_ns=junos_area_ns("chassis"))
    detail = sub(sub(top, "fpc"), "pic-detail")
    sub(detail, "slot", pic.fpc_slot)
    sub(detail, "pic-slot", pic.pic_slot)
    sub(detail, "pic-type", pic.pic_type)
    sub(detail, "state", pic.state)
    sub(detail, "pic-version", pic.pic_version)
    up_time = sub(detail, "up-time", names.junos_duration(pic.uptime_seconds))
    set_junos_attr(up_time, "seconds", pic.uptime_seconds)

    port_information = sub(detail, "port-information")
    for port in pic.ports:
        optics = port.transceiver
        if optics is None:
            continue  # no optics: the port is not listed (as on a device with an empty cage)
        OPTICS_ROW.add(port_information, (
            port.port_number, optics.cable_type, optics.fiber_mode, optics.vendor_name, optics.vendor_part_number,
            optics.wavelength, optics.firmware_version, optics.jnpr_revision, optics.msa_version))

    speeds = sub(detail, "port-speed-information")
    for port in pic.ports:
        _SPEED_ROW.add(speeds, (port.port_number, port.pfe_number, port.speed))

    groups = sub(detail, "port-group-information")
    for group in pic.port_groups:
        _PORT_GROUP_ROW.add(groups, (
            group.pfe_number, group.port_group, _port_range(group.ports), _yes_no(group.ipsec_capable),
            f"{group.ipsec_bandwidth_gbps} Gbps", f"{group.other_bandwidth_gbps} Gbps"))

    wan = sub(detail, "ipsec-wan-information")
    for port in pic.ports:
        _IPSEC_WAN_ROW.add(wan, (
            port.port_number, port.interface_name, port.pfe_number, port.port_group, _yes_no(port.ipsec_capable),
            _yes_no(port.ipsec_wan), ipsec_wan_status(port.ipsec_wan, port.ipsec_capable)))
    return top


# the columns of the text's port table, in this order
OPTICS_ROW = LeafRow("port", (
    "port-number", "cable-type", "fiber-mode", "sfp-vendor-name", "sfp-vendor-pno", "wavelength",
    "sfp-vendor-fw-ver", "sfp-jnpr-ver", "sfp-msa-version"))
# YANG 24.4 container (no capture): which PFE serves each port, and its speed.
_SPEED_ROW = LeafRow("port", ("port-number1", "pfe-number", "speed-capability"))
# DERIVED: port groups of the PFE slices (seed: "show chassis fpc N pic M displays port group information and
# the WAN connectivity status of the ports"), and each port's IPsec WAN status.
_PORT_GROUP_ROW = LeafRow("port-group", (
    "pfe-number", "port-group-number", "port-group-ports", "ipsec-capable", "ipsec-bandwidth",
    "non-ipsec-bandwidth"))
_IPSEC_WAN_ROW = LeafRow("port", (
    "port-number", "interface-name", "pfe-number", "port-group-number", "ipsec-capable", "ipsec-wan",
    "ipsec-wan-status"))


def _port_range(ports: tuple[int, ...]) -> str:
    """``(0, 1, 2, 3)`` -> ``0-3``; non-contiguous sets print as a comma list."""
    if not ports:
        return ""
    if list(ports) == list(range(ports[0], ports[0] + len(ports))) and len(ports) > 1:
        return f"{ports[0]}-{ports[-1]}"
    return ",".join(str(p) for p in ports)
