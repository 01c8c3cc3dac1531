"""Views filled from the contracts (intent VPNs and gateways, child SAs) render the seed's example."""

from __future__ import annotations

import ipaddress

from netconf_device.config.intent import (
    IkeGateway,
    IkePolicy,
    Intent,
    IpsecPolicy,
    IpsecProposal,
    IpsecVpn,
    UdpEncapsulation,
)
from netconf_device.sa import ChildSa, UdpEncap
from netconf_device.show.from_contracts import ike_algorithms, ipsec_tunnel_view, ipsec_wan_interfaces
from netconf_device.show.security_xml import build_ipsec_security_associations
from netconf_device.show.text import render_text

GATEWAY = IkeGateway(
    name="ike_gw",
    policy=IkePolicy(name="ike_policy"),
    addresses=("16.1.1.2",),
    external_interface="et-0/2/10.0",
    local_address=ipaddress.ip_address("16.1.1.1"),
)
VPN = IpsecVpn(
    name="ipsec_vpn",
    bind_interface="st0.1",
    tunnel_index=500001,
    gateway=GATEWAY,
    ipsec_policy=IpsecPolicy(
        "ipsec_policy", (IpsecProposal("ipsec_prop", encryption_algorithm="aes-256-gcm"),)
    ),
    establish_tunnels="immediately",
    service_set="SS1",
)


def child(spi_in: int, spi_out: int, created_at: float, **extra) -> ChildSa:
    return ChildSa(
        tunnel_index=500001,
        vpn_name="ipsec_vpn",
        spi_in=spi_in,
        spi_out=spi_out,
        encryption_algorithm="aes-256-gcm",
        key_in=b"k" * 36,
        key_out=b"k" * 36,
        local_address=ipaddress.ip_address("16.1.1.1"),
        remote_address=ipaddress.ip_address("16.1.1.2"),
        lifetime_seconds=3600,
        ike_sa_index=1,
        created_at=created_at,
        **extra,
    )


def test_seed_example_renders_as_the_seed_describes():
    view = ipsec_tunnel_view(VPN, [child(0x8A5B3C21, 0x1F2E3D4C, created_at=1000.0)], now=1195.0)
    lines = render_text(build_ipsec_security_associations([view])).splitlines()
    assert lines[2] == "  <500001 ESP:aes-gcm-256/None 8a5b3c21 3405/ unlim - root 500 16.1.1.2"
    assert lines[3] == "  >500001 ESP:aes-gcm-256/None 1f2e3d4c 3405/ unlim - root 500 16.1.1.2"
    detail = render_text(build_ipsec_security_associations([view], index=500001))
    assert "  Local Identity: ipv4_subnet(any:0,[0..7]=0.0.0.0/0)\n" in detail  # route-based default proxy ID
    assert "  Remote Identity: ipv4_subnet(any:0,[0..7]=0.0.0.0/0)\n" in detail
    assert "Bind-interface: st0.1" in detail
    assert "  Service set: SS1\n" in detail


def test_nat_t_and_rekey_overlap():
    old = child(1, 2, created_at=0.0)
    new = child(
        3, 4, created_at=3000.0, encap=UdpEncap("nat-t", 4500, 4500), esn=True, lifetime_bytes=2048 * 1024
    )
    view = ipsec_tunnel_view(VPN, [old, new], now=3500.0, kilobytes_used={3: 48}, soft_lifetimes={3: 2800})
    assert view.port == 4500
    assert [p.hard_lifetime_remaining_seconds for p in view.sa_pairs] == [100, 3100]
    assert view.sa_pairs[1].lifesize_remaining_kilobytes == 2000
    assert view.sa_pairs[1].soft_lifetime_remaining_seconds == 2800
    assert view.sa_pairs[1].extended_sequence_number
    assert view.negotiated_sas == 2


def test_service_set_udp_encapsulation_keeps_ike_port():
    vpn = IpsecVpn(**{**VPN.__dict__, "udp_encapsulation": UdpEncapsulation(4000)})
    view = ipsec_tunnel_view(vpn, [child(1, 2, 0.0)], now=1.0)
    assert view.port == 500
    assert (view.udp_encapsulation.kind, view.udp_encapsulation.destination_port) == ("service-set", 4000)


def test_no_sa_yet_and_wan_interfaces():
    view = ipsec_tunnel_view(VPN, [], now=0.0)
    assert view.sa_pairs == ()
    assert (view.local_gateway, view.remote_gateway, view.encryption_algorithm) == (
        "16.1.1.1",
        "16.1.1.2",
        "aes-256-gcm",
    )
    intent = Intent(
        ike_gateways={
            "ike_gw": GATEWAY,
            "unused": IkeGateway("unused", IkePolicy("p"), external_interface="et-0/0/1.0"),
        },
        ipsec_vpns={"ipsec_vpn": VPN},
    )
    assert ipsec_wan_interfaces(intent) == ["et-0/2/10.0"]


def test_ike_algorithms_from_keywords():
    algorithms = ike_algorithms("aes-256-cbc", "sha-256", "sha-256", "group19")
    assert (algorithms.authentication, algorithms.encryption, algorithms.prf, algorithms.dh_group) == (
        "hmac-sha256-128",
        "aes256-cbc",
        "hmac-sha256",
        "DH-group-19",
    )
