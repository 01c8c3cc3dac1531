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
from netconf_device.show.xmlutil import Element, set_junos_attr, sub, top_element


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
        if port.transceiver is None:
            continue  # no optics: the port is not listed (as on a device with an empty cage)
        optics = port.transceiver
        entry = sub(port_information, "port")
        sub(entry, "port-number", port.port_number)
        sub(entry, "cable-type", optics.cable_type)
        sub(entry, "fiber-mode", optics.fiber_mode)
        sub(entry, "sfp-vendor-name", optics.vendor_name)
        sub(entry, "sfp-vendor-pno", optics.vendor_part_number)
        sub(entry, "wavelength", optics.wavelength)
        sub(entry, "sfp-vendor-fw-ver", optics.firmware_version)
        sub(entry, "sfp-jnpr-ver", optics.jnpr_revision)
        sub(entry, "sfp-msa-version", optics.msa_version)

    # YANG 24.4 container (no capture): which PFE serves each port, and its speed.
    speeds = sub(detail, "port-speed-information")
    for port in pic.ports:
        entry = sub(speeds, "port")
        sub(entry, "port-number1", port.port_number)
        sub(entry, "pfe-number", port.pfe_number)
        sub(entry, "speed-capability", port.speed)

    # DERIVED: port groups of the PFE slices (seed: "show chassis fpc N pic M displays port group
    # information and the WAN connectivity status of the ports").
    groups = sub(detail, "port-group-information")
    for group in pic.port_groups:
        entry = sub(groups, "port-group")
        sub(entry, "pfe-number", group.pfe_number)
        sub(entry, "port-group-number", group.port_group)
        sub(entry, "port-group-ports", _port_range(group.ports))
        sub(entry, "ipsec-capable", _yes_no(group.ipsec_capable))
        sub(entry, "ipsec-bandwidth", f"{group.ipsec_bandwidth_gbps} Gbps")
        sub(entry, "non-ipsec-bandwidth", f"{group.other_bandwidth_gbps} Gbps")

    wan = sub(detail, "ipsec-wan-information")
    for port in pic.ports:
        entry = sub(wan, "port")
        sub(entry, "port-number", port.port_number)
        sub(entry, "interface-name", port.interface_name)
        sub(entry, "pfe-number", port.pfe_number)
        sub(entry, "port-group-number", port.port_group)
        sub(entry, "ipsec-capable", _yes_no(port.ipsec_capable))
        sub(entry, "ipsec-wan", _yes_no(port.ipsec_wan))
        sub(entry, "ipsec-wan-status", ipsec_wan_status(port.ipsec_wan, port.ipsec_capable))
    return top


def _port_range(ports: tuple[int, ...]) -> str:
    """``(0, 1, 2, 3)`` -> ``0-3``; non-contiguous sets print as a comma list."""
    if not ports:
        return ""
    if list(ports) == list(range(ports[0], ports[0] + len(ports))) and len(ports) > 1:
        return f"{ports[0]}-{ports[-1]}"
    return ",".join(str(p) for p in ports)
