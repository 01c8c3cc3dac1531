"""`show chassis pic fpc-slot F pic-slot P` on the MX304: port layout, IPsec port groups, XML and text."""

from __future__ import annotations

import pytest
from lxml import etree

from netconf_device.show import mx304
from netconf_device.show.chassis_xml import build_pic_detail
from netconf_device.show.junos_version import JUNOS_NS, junos_area_ns
from netconf_device.show.text import render_text
from netconf_device.show.views import PicDetailView, PortView, TransceiverView

CHASSIS_NS = junos_area_ns("chassis")


def q(tag: str) -> str:
    return f"{{{CHASSIS_NS}}}{tag}"


# ------------------------------------------------------------------------------------------- layout


@pytest.mark.parametrize(
    "name, pfe, group, capable",
    [
        ("et-0/2/10", 5, 0, True),  # the seed's IPsec WAN port: slice 1, port group 0
        ("et-0/2/10.0", 5, 0, True),
        ("et-0/1/8", 3, 0, True),
        ("et-0/0/0", 0, 0, True),
        ("et-0/0/3", 0, 0, True),
        ("et-0/0/4", 0, 1, False),
        ("et-0/0/7", 0, 1, False),
        ("et-0/1/12", 3, 1, False),
        ("et-0/2/15", 5, 1, False),
    ],
)
def test_port_locations(name, pfe, group, capable):
    location = mx304.port_location(name)
    assert location is not None
    assert (location.pfe_number, location.port_group, location.ipsec_capable) == (pfe, group, capable)
    assert mx304.is_ipsec_capable_interface(name) is capable


@pytest.mark.parametrize("name", ["et-1/0/0", "et-0/3/0", "et-0/0/16", "st0.1", "si-0/0/0", "lo0", "et-0/0"])
def test_ports_that_do_not_exist(name):
    assert mx304.port_location(name) is None
    assert mx304.is_ipsec_capable_interface(name) is False


def test_each_slice_has_one_ipsec_port_group_with_the_seed_bandwidth():
    view = mx304.pic_detail_view(0, 1)
    assert len(view.ports) == 16
    assert [(g.pfe_number, g.port_group, g.ports) for g in view.port_groups] == [
        (2, 0, (0, 1, 2, 3)),
        (2, 1, (4, 5, 6, 7)),
        (3, 0, (8, 9, 10, 11)),
        (3, 1, (12, 13, 14, 15)),
    ]
    for group in view.port_groups:
        assert group.ipsec_bandwidth_gbps + group.other_bandwidth_gbps == 400
        if group.ipsec_capable:
            assert (group.ipsec_bandwidth_gbps, group.other_bandwidth_gbps) == (300, 100)
        else:
            assert group.ipsec_bandwidth_gbps == 0
    assert sum(g.ipsec_capable for g in view.port_groups) == 2  # one per PFE slice


def test_absent_slots_raise():
    with pytest.raises(LookupError):
        mx304.pic_detail_view(0, 3)
    with pytest.raises(LookupError):
        mx304.pic_detail_view(1, 0)


# ---------------------------------------------------------------------------------------------- XML


def test_xml_shape_and_namespaces():
    top = build_pic_detail(
        mx304.pic_detail_view(0, 2, ipsec_wan_interfaces=["et-0/2/10.0"], uptime_seconds=90061)
    )
    assert top.tag == q("fpc-information")
    assert top.nsmap == {"junos": JUNOS_NS, None: CHASSIS_NS}
    detail = top.find(f"{q('fpc')}/{q('pic-detail')}")
    assert [etree.QName(c).localname for c in detail] == [
        "slot",
        "pic-slot",
        "pic-type",
        "state",
        "pic-version",
        "up-time",
        "port-information",
        "port-speed-information",
        "port-group-information",
        "ipsec-wan-information",
    ]
    up_time = detail.find(q("up-time"))
    assert up_time.text == "1 day, 1 hour, 1 minute, 1 second"
    assert up_time.get(f"{{{JUNOS_NS}}}seconds") == "90061"
    port = detail.find(f"{q('port-information')}/{q('port')}")
    assert [etree.QName(c).localname for c in port] == [
        "port-number",
        "cable-type",
        "fiber-mode",
        "sfp-vendor-name",
        "sfp-vendor-pno",
        "wavelength",
        "sfp-vendor-fw-ver",
        "sfp-jnpr-ver",
        "sfp-msa-version",
    ]
    wan = {
        p.findtext(q("interface-name")): (p.findtext(q("ipsec-wan")), p.findtext(q("ipsec-wan-status")))
        for p in detail.find(q("ipsec-wan-information"))
    }
    assert wan["et-0/2/10"] == ("Yes", "OK")
    assert wan["et-0/2/11"] == ("No", "-")
    speed = detail.find(f"{q('port-speed-information')}/{q('port')}")
    assert [c.text for c in speed] == ["0", "4", "100G"]
    groups = detail.find(q("port-group-information"))
    first = groups.find(q("port-group"))
    assert [c.text for c in first] == ["4", "0", "0-3", "Yes", "300 Gbps", "100 Gbps"]


def test_ipsec_wan_port_in_a_port_group_without_ipsec_is_flagged():
    top = build_pic_detail(mx304.pic_detail_view(0, 1, ipsec_wan_interfaces=["et-0/1/5"]))
    statuses = {
        p.findtext(q("interface-name")): p.findtext(q("ipsec-wan-status"))
        for p in top.iter(q("port"))
        if p.find(q("interface-name")) is not None
    }
    assert statuses["et-0/1/5"] == "Port group not IPsec capable"
    text = render_text(top)
    assert (
        "  5     et-0/1/5         2    1           No             Yes        Port group not IPsec capable"
        in text
    )


# --------------------------------------------------------------------------------------------- text

# PTX10002 capture, reference §1.11 (summary and the first port row).
PTX_TEXT = """\
FPC slot 0, PIC slot 0 information:
  Type                             MRATE-36xQDD PIC
  State                            Online
  PIC version                   255.09
  Uptime    15 days, 3 hours, 6 minutes, 26 seconds

PIC port information:
                         Fiber                    Xcvr vendor       Wave-                     Xcvr          JNPR     MSA
  Port Cable type        type  Xcvr vendor        part number       length                    Firmware      Rev      Version
  0    100G AOC 1M       MM    JUNIPER-DELTA      QAOC-100G4F1xxxx  850 nm                    0.0           REV 01   SFF-8636 ver 2.7
"""


def test_summary_and_port_table_match_the_ptx_capture():
    optics = TransceiverView(
        "100G AOC 1M",
        "MM",
        "JUNIPER-DELTA",
        "QAOC-100G4F1xxxx",
        "850 nm",
        "0.0",
        "REV 01",
        "SFF-8636 ver 2.7",
    )
    view = PicDetailView(
        fpc_slot=0,
        pic_slot=0,
        pic_type="MRATE-36xQDD PIC",
        pic_version="255.09",
        uptime_seconds=15 * 86400 + 3 * 3600 + 6 * 60 + 26,
        ports=(PortView(0, "et-0/0/0", 0, 0, True, transceiver=optics),),
    )
    text = render_text(build_pic_detail(view))
    captured = PTX_TEXT.splitlines()
    assert text.splitlines()[: len(captured)] == captured


def test_mx304_text_lists_port_groups_and_wan_status():
    text = render_text(build_pic_detail(mx304.pic_detail_view(0, 2, ipsec_wan_interfaces=["et-0/2/10"])))
    lines = text.splitlines()
    assert lines[0] == "FPC slot 0, PIC slot 2 information:"
    assert lines[1] == "  Type                             LMIC16-BASE"
    at = lines.index("Port group information:")
    assert lines[at + 1 : at + 6] == [
        "  PFE  Port group  Ports      IPsec capable  IPsec bandwidth  Non-IPsec bandwidth",
        "  4    0           0-3        Yes            300 Gbps         100 Gbps",
        "  4    1           4-7        No             0 Gbps           400 Gbps",
        "  5    0           8-11       Yes            300 Gbps         100 Gbps",
        "  5    1           12-15      No             0 Gbps           400 Gbps",
    ]
    at = lines.index("IPsec WAN status:")
    assert lines[at + 1] == "  Port  Interface        PFE  Port group  IPsec capable  IPsec WAN  Status"
    assert "  10    et-0/2/10        5    0           Yes            Yes        OK" in lines
    assert len([line for line in lines[at + 2 :] if line.strip()]) == 16


def test_port_without_optics_is_not_in_the_port_table():
    view = mx304.pic_detail_view(0, 0)
    bare = PicDetailView(
        **{
            **view.__dict__,
            "ports": tuple(PortView(**{**p.__dict__, "transceiver": None}) for p in view.ports),
        }
    )
    text = render_text(build_pic_detail(bare))
    assert "PIC port information:" not in text
    assert "IPsec WAN status:" in text
