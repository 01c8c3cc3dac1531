"""XML reply of get-pic-detail -> CLI text of `show chassis pic fpc-slot F pic-slot P`.

The PIC summary and the port table follow the PTX10002 capture (reference/junos-xml.md §1.11), including
its odd value columns (``Type`` at 35, ``PIC version`` at 32, ``Uptime`` at 12). The port-group and IPsec
WAN tables are DERIVED (seed: the command shows the port groups and the WAN status of the ports).
"""

from __future__ import annotations

from netconf_device.show.chassis_xml import OPTICS_ROW
from netconf_device.show.xmlutil import Element, child, children, text_of

# Column widths of the captured port table; the first header line labels the two-line column titles.
_PORT_COLUMNS = (5, 18, 6, 19, 18, 26, 14, 9)
_PORT_HEADER_1 = (
    "                         Fiber                    Xcvr vendor       Wave-                     Xcvr"
    "          JNPR     MSA"
)
_PORT_HEADER_2 = (
    "  Port Cable type        type  Xcvr vendor        part number       length                    Firmware"
    "      Rev      Version"
)

# DERIVED tables.
_GROUP_COLUMNS = (5, 12, 11, 15, 17)
_GROUP_TITLES = ("PFE", "Port group", "Ports", "IPsec capable", "IPsec bandwidth", "Non-IPsec bandwidth")
_GROUP_FIELDS = (
    "pfe-number",
    "port-group-number",
    "port-group-ports",
    "ipsec-capable",
    "ipsec-bandwidth",
    "non-ipsec-bandwidth",
)
_WAN_COLUMNS = (6, 17, 5, 12, 15, 11)
_WAN_TITLES = ("Port", "Interface", "PFE", "Port group", "IPsec capable", "IPsec WAN", "Status")
_WAN_FIELDS = (
    "port-number",
    "interface-name",
    "pfe-number",
    "port-group-number",
    "ipsec-capable",
    "ipsec-wan",
    "ipsec-wan-status",
)


def _columns(values: list[str], widths: tuple[int, ...]) -> str:
    """Left-aligned fixed columns; a value wider than its column keeps one space before the next."""
    line = ""
    for value, width in zip(values, widths, strict=False):
        cell = value.ljust(width)
        line += cell if len(value) < width else value + " "
    return "  " + line + values[-1]


def render_pic_detail(top: Element) -> str:
    """One block per ``fpc/pic-detail`` in the reply."""
    blocks = []
    for fpc in children(top, "fpc"):
        for detail in children(fpc, "pic-detail"):
            blocks.append(_pic_detail(detail))
    return "\n".join(blocks)


def _pic_detail(detail: Element) -> str:
    lines = [
        f"FPC slot {text_of(detail, 'slot')}, PIC slot {text_of(detail, 'pic-slot')} information:",
        f"  {'Type':<33}{text_of(detail, 'pic-type')}",
        f"  {'State':<33}{text_of(detail, 'state')}",
        f"  {'PIC version':<30}{text_of(detail, 'pic-version')}",
        f"  {'Uptime':<10}{text_of(detail, 'up-time')}",
    ]
    port_information = child(detail, "port-information")
    ports = children(port_information, "port") if port_information is not None else []
    if ports:
        lines += ["", "PIC port information:", _PORT_HEADER_1, _PORT_HEADER_2]
        for port in ports:
            lines.append(_columns([text_of(port, name) for name in OPTICS_ROW.leaves], _PORT_COLUMNS))
    groups = child(detail, "port-group-information")
    if groups is not None:
        lines += ["", "Port group information:", _columns(list(_GROUP_TITLES), _GROUP_COLUMNS)]
        for group in children(groups, "port-group"):
            lines.append(_columns([text_of(group, name) for name in _GROUP_FIELDS], _GROUP_COLUMNS))
    wan = child(detail, "ipsec-wan-information")
    if wan is not None:
        lines += ["", "IPsec WAN status:", _columns(list(_WAN_TITLES), _WAN_COLUMNS)]
        for port in children(wan, "port"):
            lines.append(_columns([text_of(port, name) for name in _WAN_FIELDS], _WAN_COLUMNS))
    return "".join(line + "\n" for line in lines)
