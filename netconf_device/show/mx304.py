"""The port layout of the emulated MX304 and its IPsec port groups (DERIVED, see docs/show-commands.md).

Facts from the seed: each YT ASIC has two PFE slices, each slice has two port groups (four per YT), each
port group carries up to 400 Gbps of ordinary WAN traffic, and port group 0 of each slice supports IPsec:
up to 300 Gbps of IPsec WAN traffic, the remaining 100 Gbps for other traffic. The seed's example uses
`et-0/1/8` (LAN) and `et-0/2/10` (IPsec WAN) and enables inline services on `fpc 0 pic 0`.

Derived layout (no public MX304 port-group table exists): one FPC (slot 0) with three LMIC PICs (0-2), one
YT ASIC each (1.6 Tbps per LMIC, 4.8 Tbps per MX304); 16 ports per PIC named `et-0/<pic>/<port>`. Ports 0-7
belong to PFE slice 0 and 8-15 to slice 1; within a slice the first four ports form port group 0 (IPsec
capable) and the next four port group 1. So `et-0/2/10` (slice 1, port group 0) can carry IPsec, as the
seed's example needs. PFE numbers count slices across the FPC: PIC p has PFEs 2p and 2p+1.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from netconf_device.show.views import PicDetailView, PortGroupView, PortView, TransceiverView

FPC_SLOTS = (0,)
PIC_SLOTS = (0, 1, 2)
PORTS_PER_PIC = 16
SLICES_PER_PIC = 2
PORT_GROUPS_PER_SLICE = 2
PORTS_PER_PORT_GROUP = PORTS_PER_PIC // (SLICES_PER_PIC * PORT_GROUPS_PER_SLICE)
IPSEC_PORT_GROUP = 0  # seed: "port group 0 of each PFE slice supports IPsec"

PORT_GROUP_BANDWIDTH_GBPS = 400
IPSEC_BANDWIDTH_GBPS = 300  # of an IPsec-capable port group; the rest (100) stays for other traffic

PIC_TYPE = "LMIC16-BASE"  # DERIVED: the MX304 line card (LMIC) model with 16 ports
PORT_SPEED = "100G"

_PORT_NAME = re.compile(r"^(?:et|xe|ge)-(\d+)/(\d+)/(\d+)(?::\d+)?(?:\.\d+)?$")


@dataclass(frozen=True)
class PortLocation:
    """Where a WAN port sits: PIC, PFE slice, port group, and whether that group can carry IPsec."""

    fpc: int
    pic: int
    port: int
    pfe_number: int
    port_group: int

    @property
    def ipsec_capable(self) -> bool:
        return self.port_group == IPSEC_PORT_GROUP


def port_location(interface_name: str) -> PortLocation | None:
    """``et-0/2/10`` or ``et-0/2/10.0`` -> its location; None if it is not a port of this chassis."""
    match = _PORT_NAME.match(interface_name)
    if not match:
        return None
    fpc, pic, port = (int(g) for g in match.groups())
    if fpc not in FPC_SLOTS or pic not in PIC_SLOTS or not 0 <= port < PORTS_PER_PIC:
        return None
    ports_per_slice = PORTS_PER_PIC // SLICES_PER_PIC
    pfe_slice, in_slice = divmod(port, ports_per_slice)
    return PortLocation(
        fpc=fpc,
        pic=pic,
        port=port,
        pfe_number=pic * SLICES_PER_PIC + pfe_slice,
        port_group=in_slice // PORTS_PER_PORT_GROUP,
    )


def is_ipsec_capable_interface(interface_name: str) -> bool:
    """True when the interface is a port of an IPsec-capable port group (the rule for IPsec WAN ports)."""
    location = port_location(interface_name)
    return bool(location and location.ipsec_capable)


def _physical_name(interface_name: str) -> str:
    return interface_name.split(".", 1)[0]


def pic_detail_view(
    fpc_slot: int,
    pic_slot: int,
    *,
    ipsec_wan_interfaces: Iterable[str] = (),
    uptime_seconds: int = 0,
) -> PicDetailView:
    """The view of one MX304 PIC; ``ipsec_wan_interfaces`` are the gateways' external interfaces.

    Raises ``LookupError`` for a slot this chassis does not have.
    """
    if fpc_slot not in FPC_SLOTS or pic_slot not in PIC_SLOTS:
        raise LookupError(f"FPC {fpc_slot} PIC {pic_slot} is not present")
    wan = {_physical_name(name) for name in ipsec_wan_interfaces}
    ports = []
    for port in range(PORTS_PER_PIC):
        name = f"et-{fpc_slot}/{pic_slot}/{port}"
        location = port_location(name)
        assert location is not None  # every port of a present PIC has a location
        ports.append(
            PortView(
                port_number=port,
                interface_name=name,
                pfe_number=location.pfe_number,
                port_group=location.port_group,
                ipsec_capable=location.ipsec_capable,
                ipsec_wan=name in wan,
                speed=PORT_SPEED,
                transceiver=TransceiverView(),
            )
        )
    groups: dict[tuple[int, int], list[int]] = {}
    for view in ports:
        groups.setdefault((view.pfe_number, view.port_group), []).append(view.port_number)
    port_groups = tuple(
        PortGroupView(
            pfe_number=pfe,
            port_group=group,
            ports=tuple(members),
            ipsec_capable=group == IPSEC_PORT_GROUP,
            ipsec_bandwidth_gbps=IPSEC_BANDWIDTH_GBPS if group == IPSEC_PORT_GROUP else 0,
            other_bandwidth_gbps=PORT_GROUP_BANDWIDTH_GBPS
            - (IPSEC_BANDWIDTH_GBPS if group == IPSEC_PORT_GROUP else 0),
        )
        for (pfe, group), members in sorted(groups.items())
    )
    return PicDetailView(
        fpc_slot=fpc_slot,
        pic_slot=pic_slot,
        pic_type=PIC_TYPE,
        uptime_seconds=uptime_seconds,
        ports=tuple(ports),
        port_groups=port_groups,
    )
