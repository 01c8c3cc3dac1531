"""CLI text of the IKE / IPsec show commands against the spacing-preserving captures (junos-xml.md §2)."""

from __future__ import annotations

import datetime as dt

import pytest

from netconf_device.show.security_text import IKE_BRIEF_HEADER, IPSEC_BRIEF_HEADER
from netconf_device.show.security_xml import (
    build_ike_active_peers,
    build_ike_security_associations,
    build_ipsec_security_associations,
)
from netconf_device.show.text import render_text
from netconf_device.show.views import (
    DpdView,
    IkeActivePeerView,
    IkeAlgorithms,
    IkeChildNegotiation,
    IkeSaView,
    IkeTrafficStatistics,
    IpsecSaPair,
    IpsecTunnelView,
    TunnelEvent,
)

ALGORITHMS = IkeAlgorithms("hmac-sha1-96", "aes256-cbc", "hmac-sha1", "DH-group-2")


def ike_sa(index: int, initiator: str, responder: str, remote: str, mode: str = "IKEv2", state: str = "UP"):
    return IkeSaView(
        index=index,
        gateway_name="gw",
        state=state,  # type: ignore[arg-type]
        role="initiator",
        remote_address=remote,
        local_address="10.0.0.1",
        initiator_spi=int(initiator, 16),
        responder_spi=int(responder, 16),
        algorithms=ALGORITHMS,
        lifetime_remaining_seconds=100,
        exchange_type=mode,
    )


# ---------------------------------------------------------------------------------------- IKE brief


def test_ike_header_is_the_captured_one():
    assert (
        IKE_BRIEF_HEADER.rstrip()
        == "Index   State  Initiator cookie  Responder cookie  Mode           Remote Address"
    )
    assert IKE_BRIEF_HEADER.endswith("Remote Address   ")  # bpfrx: the header ends with three spaces


@pytest.mark.parametrize(
    "sas, captured",
    [
        (  # vSRX 24.4R1 (bpfrx): 8-digit indexes push the state one column right
            [
                ike_sa(10827715, "ccb95f0882a044a8", "67c1a3d54ae8f069", "174.70.192.83"),
                ike_sa(10827718, "f737bec6d2d877ff", "9cb755d0c21be9c3", "172.3.77.209"),
                ike_sa(10827726, "0f33732903bd3ed7", "ed31e2cf6088415f", "50.233.235.222", mode="Main"),
            ],
            [
                "10827715 UP    ccb95f0882a044a8  67c1a3d54ae8f069  IKEv2          174.70.192.83",
                "10827718 UP    f737bec6d2d877ff  9cb755d0c21be9c3  IKEv2          172.3.77.209",
                "10827726 UP    0f33732903bd3ed7  ed31e2cf6088415f  Main           50.233.235.222",
            ],
        ),
        (  # vsrxhub: 7-digit indexes
            [
                ike_sa(6862610, "2ce3cd96b47fc790", "ef44ebd0b44210de", "10.10.10.51"),
                ike_sa(6862609, "c0f8928812d299d0", "41f359fad09e8dba", "10.10.10.50"),
            ],
            [
                "6862610 UP     2ce3cd96b47fc790  ef44ebd0b44210de  IKEv2          10.10.10.51",
                "6862609 UP     c0f8928812d299d0  41f359fad09e8dba  IKEv2          10.10.10.50",
            ],
        ),
        (  # cSRX: short index
            [ike_sa(39, "5795cb15a66efded", "3df78315d5322f8b", "171.1.1.2")],
            ["39      UP     5795cb15a66efded  3df78315d5322f8b  IKEv2          171.1.1.2"],
        ),
    ],
)
def test_ike_brief_matches_captures_line_by_line(sas, captured):
    lines = render_text(build_ike_security_associations(sas)).splitlines()
    assert lines == [IKE_BRIEF_HEADER, *captured]


def test_ike_brief_down_sa_keeps_columns():
    lines = render_text(
        build_ike_security_associations([ike_sa(2, "1", "0", "16.1.1.2", state="DOWN")])
    ).splitlines()
    assert lines[1] == "2       DOWN   0000000000000001  0000000000000000  IKEv2          16.1.1.2"


def test_ike_brief_empty_prints_nothing():
    assert render_text(build_ike_security_associations([])) == ""
    assert render_text(build_ike_security_associations([], level="detail")) == ""


# --------------------------------------------------------------------------------------- IKE detail

# SRX capture of `show security ike security-associations index 6226807 detail` (reference §2.1). The blog
# that published it collapsed leading whitespace, so the comparison is on whitespace-normalised lines.
AZURE_DETAIL = """\
IKE peer Y.Y.Y.Y, Index 6226807, Gateway Name: azure-gateway
 Role: Responder, State: UP
 Initiator cookie: 77034040d34a7428, Responder cookie: 2dfe60279d917d73
 Exchange type: IKEv2, Authentication method: Pre-shared-keys
 Local: X.X.X.X:500, Remote: Y.Y.Y.Y:500
 Lifetime: Expires in 2148 seconds
 Reauth Lifetime: Disabled
 IKE Fragmentation: Disabled, Size: 0
 Remote Access Client Info: Unknown Client
 Peer ike-id: Y.Y.Y.Y
 AAA assigned IP: 0.0.0.0
 Algorithms:
 Authentication : hmac-sha1-96
 Encryption : aes256-cbc
 Pseudo random function: hmac-sha1
 Diffie-Hellman group : DH-group-2
 Traffic statistics:
 Input bytes : 171220
 Output bytes : 171204
 Input packets: 2251
 Output packets: 2251
 Input fragmentated packets: 0
 Output fragmentated packets: 0
 IPSec security associations: 2 created, 0 deleted
 Phase 2 negotiations in progress: 1

Negotiation type: Quick mode, Role: Responder, Message ID: 0
 Local: X.X.X.X:500, Remote: Y.Y.Y.Y:500
 Local identity: Z.Z.Z.Z
 Remote identity: Y.Y.Y.Y
 Flags: IKE SA is created. Waiting for remove
"""

AZURE_SA = IkeSaView(
    index=6226807,
    gateway_name="azure-gateway",
    state="UP",
    role="responder",
    remote_address="Y.Y.Y.Y",
    local_address="X.X.X.X",
    initiator_spi=0x77034040D34A7428,
    responder_spi=0x2DFE60279D917D73,
    algorithms=ALGORITHMS,
    lifetime_remaining_seconds=2148,
    fragmentation_enabled=False,
    remote_identity="Y.Y.Y.Y",
    traffic=IkeTrafficStatistics(171220, 171204, 2251, 2251, 0, 0),
    ipsec_sas_created=2,
    phase2_negotiations=(
        IkeChildNegotiation(
            "responder",
            0,
            "X.X.X.X",
            500,
            "Y.Y.Y.Y",
            500,
            "Z.Z.Z.Z",
            "Y.Y.Y.Y",
            flags="IKE SA is created. Waiting for remove",
        ),
    ),
)


def _normalised(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines()]


def test_ike_detail_matches_capture_content_and_order():
    text = render_text(build_ike_security_associations([AZURE_SA], index=6226807))
    assert _normalised(text) == _normalised(AZURE_DETAIL)


def test_ike_detail_indentation_and_counter_alignment():
    lines = render_text(build_ike_security_associations([AZURE_SA], level="detail")).splitlines()
    assert lines[0] == "IKE peer Y.Y.Y.Y, Index 6226807, Gateway Name: azure-gateway"
    assert lines[1] == "  Role: Responder, State: UP"
    assert "   Authentication        : hmac-sha1-96 " in lines  # trailing space: in both captures
    assert "   Diffie-Hellman group  : DH-group-2" in lines
    counters = [line for line in lines if line.startswith(("   Input", "   Output"))]
    assert len(counters) == 6
    assert {len(line.rstrip()) for line in counters} == {39}  # right-aligned to one column
    assert "   Input  bytes  :               171220" in lines


def test_ike_detail_several_sas_are_separated_by_a_blank_line():
    second = IkeSaView(**{**AZURE_SA.__dict__, "index": 7, "phase2_negotiations": ()})
    text = render_text(build_ike_security_associations([AZURE_SA, second], level="detail"))
    assert "Flags: IKE SA is created. Waiting for remove\n\nIKE peer Y.Y.Y.Y, Index 7," in text
    assert text.endswith("  Phase 2 negotiations in progress: 0\n")


def test_ike_detail_mx_lines():
    sa = IkeSaView(
        **{**AZURE_SA.__dict__, "local_gateway_interface": "et-0/2/10.0", "ipsec_tunnel_ids": (500001,)}
    )
    lines = render_text(build_ike_security_associations([sa], level="detail")).splitlines()
    at = lines.index("  Exchange type: IKEv2, Authentication method: Pre-shared-keys")
    assert lines[at + 1 : at + 3] == ["  Local gateway interface: et-0/2/10.0", "  Routing instance: default"]
    assert "  IPSec Tunnel IDs: 500001" in lines


# ---------------------------------------------------------------------------------------- IPsec brief

BPFRX_BRIEF = [
    "  <131073 ESP:aes-gcm-128/None 94337ff7 1932/ unlim - root 500 50.233.235.222",
    "  >131073 ESP:aes-gcm-128/None b941875f 1932/ unlim - root 500 50.233.235.222",
    "  <131074 ESP:aes-cbc-256/sha256 b95afaf0 3029/ unlim - root 500 104.193.170.172",
    "  >131074 ESP:aes-cbc-256/sha256 ca3156de 3029/ unlim - root 500 104.193.170.172",
]


def bpfrx_tunnels() -> list[IpsecTunnelView]:
    return [
        IpsecTunnelView(
            131073,
            "BV-FIREHOUSE",
            "50.220.171.30",
            "50.233.235.222",
            "aes-128-gcm",
            sa_pairs=(IpsecSaPair(0x94337FF7, 0xB941875F, 1932),),
        ),
        IpsecTunnelView(
            131074,
            "other",
            "50.220.171.30",
            "104.193.170.172",
            "aes-256-cbc",
            authentication_algorithm="hmac-sha-256-128",
            sa_pairs=(IpsecSaPair(0xB95AFAF0, 0xCA3156DE, 3029),),
        ),
    ]


def test_ipsec_header_is_the_captured_one():
    assert (
        IPSEC_BRIEF_HEADER.rstrip() == "  ID    Algorithm       SPI      Life:sec/kb  Mon lsys Port  Gateway"
    )


def test_ipsec_brief_matches_capture_line_by_line():
    lines = render_text(build_ipsec_security_associations(bpfrx_tunnels())).splitlines()
    assert lines == ["  Total active tunnels: 2     Total Ipsec sas: 2", IPSEC_BRIEF_HEADER, *BPFRX_BRIEF]


def test_ipsec_brief_seed_example_values():
    """Seed: ID 500001, port 500 (no NAT), `3405/ unlim` life column, `-` in Mon (no VPN monitoring)."""
    tunnel = IpsecTunnelView(
        500001,
        "ipsec_vpn",
        "16.1.1.1",
        "16.1.1.2",
        "aes-256-gcm",
        sa_pairs=(IpsecSaPair(0x8A5B3C21, 0x1F2E3D4C, 3405),),
    )
    lines = render_text(build_ipsec_security_associations([tunnel])).splitlines()
    assert lines[2:] == [
        "  <500001 ESP:aes-gcm-256/None 8a5b3c21 3405/ unlim - root 500 16.1.1.2",
        "  >500001 ESP:aes-gcm-256/None 1f2e3d4c 3405/ unlim - root 500 16.1.1.2",
    ]


@pytest.mark.parametrize("state, letter", [(None, "-"), ("up", "U"), ("down", "D")])
def test_ipsec_brief_monitoring_column(state, letter):
    tunnel = IpsecTunnelView(
        500001,
        "v",
        "1.1.1.1",
        "2.2.2.2",
        "aes-256-gcm",
        vpn_monitoring=state,
        sa_pairs=(IpsecSaPair(1, 2, 10, lifesize_remaining_kilobytes=5000),),
    )
    line = render_text(build_ipsec_security_associations([tunnel])).splitlines()[2]
    assert line == f"  <500001 ESP:aes-gcm-256/None 00000001 10/ 5000 {letter} root 500 2.2.2.2"


def test_ipsec_brief_empty_prints_only_the_totals():
    assert (
        render_text(build_ipsec_security_associations([]))
        == "  Total active tunnels: 0     Total Ipsec sas: 0\n"
    )


# --------------------------------------------------------------------------------------- IPsec detail

# vSRX 24.4R1-S2.9 (bpfrx), reference §2.2, spacing preserved.
BPFRX_DETAIL = """\
ID: 131073 Virtual-system: root, VPN Name: BV-FIREHOUSE
  Local Gateway: 50.220.171.30, Remote Gateway: 50.233.235.222
  Local Identity: ipv4_subnet(any:0,[0..7]=0.0.0.0/0)
  Remote Identity: ipv4_subnet(any:0,[0..7]=0.0.0.0/0)
  Version: IKEv1
  DF-bit: copy, Copy-Outer-DSCP Disabled, Bind-interface: st0.0
  Port: 500, Nego#: 959, Fail#: 0, Def-Del#: 0 Flag: 0x600a29
  Multi-sa, Configured SAs# 1, Negotiated SAs#: 1
  Tunnel events:
    Sat Feb 14 2026 20:53:59 -0800: IPSec SA negotiation successfully completed (25 times)
    Sat Feb 14 2026 17:02:56 -0800: IKE SA negotiation successfully completed (56 times)
  Direction: inbound, SPI: 94337ff7, AUX-SPI: 0
                              , VPN Monitoring: -
    Hard lifetime: Expires in 1858 seconds
    Lifesize Remaining:  Unlimited
    Soft lifetime: Expires in 1285 seconds
    Mode: Tunnel(0 0), Type: dynamic, State: installed
    Protocol: ESP, Authentication: None, Encryption: aes-gcm (128 bits)
    Anti-replay service: counter-based enabled, Replay window size: 64
  Direction: outbound, SPI: b941875f, AUX-SPI: 0
                              , VPN Monitoring: -
    Hard lifetime: Expires in 1858 seconds
    Lifesize Remaining:  Unlimited
    Soft lifetime: Expires in 1285 seconds
    Mode: Tunnel(0 0), Type: dynamic, State: installed
    Protocol: ESP, Authentication: None, Encryption: aes-gcm (128 bits)
    Anti-replay service: counter-based enabled, Replay window size: 64
"""

PST = dt.timezone(dt.timedelta(hours=-8))

BPFRX_DETAIL_TUNNEL = IpsecTunnelView(
    tunnel_index=131073,
    vpn_name="BV-FIREHOUSE",
    local_gateway="50.220.171.30",
    remote_gateway="50.233.235.222",
    encryption_algorithm="aes-128-gcm",
    ike_version="IKEv1",
    df_bit="copy",
    bind_interface="st0.0",
    negotiations=959,
    flags=0x600A29,
    events=(
        TunnelEvent(
            dt.datetime(2026, 2, 14, 20, 53, 59, tzinfo=PST),
            "IPSec SA negotiation successfully completed",
            25,
        ),
        TunnelEvent(
            dt.datetime(2026, 2, 14, 17, 2, 56, tzinfo=PST), "IKE SA negotiation successfully completed", 56
        ),
    ),
    sa_pairs=(IpsecSaPair(0x94337FF7, 0xB941875F, 1858, 1285),),
)


def test_ipsec_detail_matches_capture_exactly():
    text = render_text(build_ipsec_security_associations([BPFRX_DETAIL_TUNNEL], level="detail"))
    assert text.splitlines() == BPFRX_DETAIL.splitlines()
    assert text == BPFRX_DETAIL


def test_ipsec_index_detail_is_the_same_block():
    text = render_text(
        build_ipsec_security_associations([*bpfrx_tunnels()[1:], BPFRX_DETAIL_TUNNEL], index=131073)
    )
    assert text == BPFRX_DETAIL


def test_ipsec_detail_derived_lines_only_when_in_use():
    tunnel = IpsecTunnelView(
        **{
            **BPFRX_DETAIL_TUNNEL.__dict__,
            "ike_version": "IKEv2",
            "service_set": "SS1",
            "tunnel_mtu": 1400,
            "pfs_group": "DH-group-19",
            "sa_pairs": (IpsecSaPair(1, 2, 100, 50, extended_sequence_number=True, anti_replay_window=0),),
        }
    )
    lines = render_text(build_ipsec_security_associations([tunnel], level="detail")).splitlines()
    at = lines.index("  Version: IKEv2")
    assert lines[at + 1 : at + 4] == [
        "  PFS group: DH-group-19",
        "  Service set: SS1",
        "  DF-bit: copy, Copy-Outer-DSCP Disabled, Bind-interface: st0.0, Tunnel MTU: 1400",
    ]
    assert "    Anti-replay service: disabled" in lines
    assert lines.count("    Extended-Sequence-Number: Enabled") == 2


def test_ipsec_detail_blocks_are_separated_by_a_blank_line():
    other = IpsecTunnelView(**{**BPFRX_DETAIL_TUNNEL.__dict__, "tunnel_index": 131074, "events": ()})
    text = render_text(build_ipsec_security_associations([BPFRX_DETAIL_TUNNEL, other], level="detail"))
    assert "Replay window size: 64\n\nID: 131074 Virtual-system: root" in text
    assert render_text(build_ipsec_security_associations([], level="detail")) == ""


# --------------------------------------------------------------------------------------- active peers


def test_active_peer_brief_and_detail_text():
    peer = IkeActivePeerView(
        remote_address="16.1.1.2",
        remote_identity="16.1.1.2",
        local_address="16.1.1.1",
        local_identity="16.1.1.1",
        local_gateway_interface="et-0/2/10.0",
        ike_sa_indexes=(1,),
        ipsec_tunnel_ids=(500001,),
        ike_sas_negotiated=1,
        active_ipsec_sas=1,
        dpd=DpdView("optimized", 10, 5, requests_sent=3, responses_received=2),
    )
    brief = render_text(build_ike_active_peers([peer])).splitlines()
    assert brief[0].startswith("Remote Address") and brief[0].endswith("Assigned IP")
    assert brief[1].split() == ["16.1.1.2", "500", "16.1.1.2", "not", "available", "0.0.0.0"]
    assert brief[1].index("500") == brief[0].index("Port")
    detail = render_text(build_ike_active_peers([peer], level="detail"))
    assert "Peer address: 16.1.1.2, Port: 500\n" in detail
    assert "  DPD configuration: mode optimized, interval 10, threshold 5\n" in detail
    assert "  DPD statistics: requests sent 3, responses received 2\n" in detail
    assert "IPsec tunnel IDs: 500001" in detail
    assert render_text(build_ike_active_peers([])) == ""
    assert render_text(build_ike_active_peers([peer], peer_address="9.9.9.9")) == ""
