"""UDP encapsulation of ESP: NAT-T (RFC 3948) and the seed's service-set encapsulation, with the seed's
inbound drop rules (each counted), and the IKE/ESP demultiplexing of UDP ports 500/4500/configured."""

from __future__ import annotations

import ipaddress
import struct

import pytest
from pfe_testlib import (
    LAN,
    TUNNEL_INDEX,
    WAN,
    expected_forwarded,
    host,
    peer,
    scapy_encrypt,
    scapy_sa,
    udp_packet,
)
from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.inet6 import IPv6

from netconf_device.config.intent import UdpEncapsulation
from netconf_device.pfe import ip
from netconf_device.sa import IkeDatagram, UdpEncap

SERVICE_PORT = 5000


@pytest.fixture(params=(True, False), ids=("fast", "general"))
def fast_path(request):
    return request.param


def service_set_peer(side, fast_path, port=SERVICE_PORT, **kwargs):
    return peer(side, fast_path=fast_path, intent_kwargs={"udp_encapsulation": UdpEncapsulation(port)},
                encap=UdpEncap("service-set", 0, port), **kwargs)


def _udp_fields(packet: bytes) -> tuple[int, int, int]:
    offset = 20 if packet[0] >> 4 == 4 else 40
    sport, dport, _length, checksum = struct.unpack_from("!HHHH", packet, offset)
    return sport, dport, checksum


def test_pfe_nat_t_uses_4500_and_zero_checksum(fast_path):
    a = peer("a", fast_path=fast_path, encap=UdpEncap("nat-t", 4500, 4500))
    out = a.process([(LAN, udp_packet(host("a", 4), host("b", 4)))], 1.0)
    assert out[0][1][9] == ip.PROTO_UDP
    assert _udp_fields(out[0][1]) == (4500, 4500, 0)


def test_pfe_nat_t_over_ipv6_has_valid_checksum(fast_path):
    a = peer("a", fast_path=fast_path, outer_version=6, encap=UdpEncap("nat-t", 4500, 4500))
    packet = a.process([(LAN, udp_packet(host("a", 4), host("b", 4)))], 1.0)[0][1]
    parsed = IPv6(packet)
    claimed = parsed[UDP].chksum
    del parsed[UDP].chksum
    assert claimed != 0 and IPv6(bytes(parsed))[UDP].chksum == claimed


def test_pfe_service_set_ports_per_flow(fast_path):
    a = service_set_peer("a", fast_path)
    flows = [udp_packet(host("a", 4), host("b", 4), sport=10000 + i, dport=53) for i in range(64)]
    out = a.process([(LAN, p) for p in flows + flows], 1.0)
    ports = [_udp_fields(p)[0] for _, p in out]
    assert all(_udp_fields(p)[1] == SERVICE_PORT for _, p in out)
    assert all(49152 <= port <= 65535 for port in ports)
    assert ports[:64] == ports[64:]  # the same flow keeps its port
    assert len(set(ports[:64])) >= 48  # different flows spread (a few CRC collisions are fine)


def test_pfe_service_set_fragments_share_a_port(fast_path):
    a = peer("a", fast_path=fast_path,
             intent_kwargs={"udp_encapsulation": UdpEncapsulation(SERVICE_PORT), "tunnel_mtu": 600},
             encap=UdpEncap("service-set", 0, SERVICE_PORT))
    out = a.process([(LAN, udp_packet(host("a", 4), host("b", 4), payload=b"p" * 2000))], 1.0)
    assert len(out) >= 4
    assert len({_udp_fields(p)[0] for _, p in out}) == 1


def test_pfe_service_set_round_trip_between_peers(fast_path):
    a = service_set_peer("a", fast_path)
    b = service_set_peer("b", fast_path)
    packet = udp_packet(host("a", 4), host("b", 4))
    assert b.process(a.process([(LAN, packet)], 1.0), 1.0) == [(LAN, expected_forwarded(expected_forwarded(packet)))]


def test_pfe_seed_drop_missing_udp_header(fast_path):
    b = service_set_peer("b", fast_path)
    plain = scapy_encrypt(scapy_sa("a"), expected_forwarded(udp_packet(host("a", 4), host("b", 4))))
    assert plain[9] == ip.PROTO_ESP
    assert b.process([(WAN, plain)], 1.0) == []
    stats = b.ipsec_statistics(TUNNEL_INDEX)
    assert stats["udp_encap_missing_udp_header"] == 1
    assert stats["bad_headers"] == 1 and stats["discard_errors"] == 1
    assert stats["esp_decrypted_packets"] == 0


@pytest.mark.parametrize("arrival_port", (4500, 6000, 500))
def test_pfe_seed_drop_port_differs_from_configured(fast_path, arrival_port):
    b = service_set_peer("b", fast_path)
    sender = scapy_sa("a", nat_t=(50000, arrival_port))
    packet = scapy_encrypt(sender, expected_forwarded(udp_packet(host("a", 4), host("b", 4))))
    assert b.process([(WAN, packet)], 1.0) == []
    stats = b.ipsec_statistics(TUNNEL_INDEX)
    assert stats["udp_encap_port_mismatch"] == 1
    assert stats["discard_errors"] == 1
    # The same packet on the configured port is accepted.
    good = scapy_encrypt(scapy_sa("a", nat_t=(50000, SERVICE_PORT), seq_num=2),
                         expected_forwarded(udp_packet(host("a", 4), host("b", 4))))
    assert len(b.process([(WAN, good)], 1.0)) == 1


def test_pfe_seed_drop_not_500_when_no_port_configured(fast_path):
    b = service_set_peer("b", fast_path, port=500)
    inner = expected_forwarded(udp_packet(host("a", 4), host("b", 4)))
    wrong = scapy_encrypt(scapy_sa("a", nat_t=(50000, 4500)), inner)
    assert b.process([(WAN, wrong)], 1.0) == []
    stats = b.ipsec_statistics(TUNNEL_INDEX)
    assert stats["udp_encap_port_not_500"] == 1 and stats["udp_encap_port_mismatch"] == 0
    right = scapy_encrypt(scapy_sa("a", nat_t=(50000, 500), seq_num=2), inner)
    assert b.process([(WAN, right)], 1.0) == [(LAN, expected_forwarded(inner))]


def test_pfe_nat_t_sa_drops_plain_esp(fast_path):
    b = peer("b", fast_path=fast_path, encap=UdpEncap("nat-t", 4500, 4500))
    plain = scapy_encrypt(scapy_sa("a"), expected_forwarded(udp_packet(host("a", 4), host("b", 4))))
    assert b.process([(WAN, plain)], 1.0) == []
    assert b.ipsec_statistics(TUNNEL_INDEX)["udp_encap_missing_udp_header"] == 1


def _ike_header(length: int) -> bytes:
    # IKE_SA_INIT request header: SPIi, SPIr=0, next payload SA, version 2.0, exchange 34, flags, msgid 0.
    return bytes(range(1, 9)) + bytes(8) + bytes((33, 0x20, 34, 0x08)) + bytes(4) + struct.pack("!I", length)


def test_pfe_ike_punted_with_non_esp_marker_rules(fast_path):
    b = service_set_peer("b", fast_path)
    ike = _ike_header(40) + bytes(12)
    src, dst = host("a", 4), "16.1.1.2"
    packets = [
        udp_packet(src, dst, ike, sport=500, dport=500),
        udp_packet(src, dst, b"\0\0\0\0" + ike, sport=4500, dport=4500),
        udp_packet(src, dst, b"\0\0\0\0" + ike, sport=4500, dport=SERVICE_PORT),
        udp_packet(src, dst, b"\xff", sport=4500, dport=4500),  # NAT keepalive: consumed silently
    ]
    assert b.process([(WAN, p) for p in packets], 1.0) == []
    events = [e for e in b.drain_events() if isinstance(e, IkeDatagram)]
    assert [(e.dport, e.non_esp_marker, e.payload) for e in events] == [
        (500, False, ike), (4500, True, ike), (SERVICE_PORT, True, ike)]
    assert all(e.ingress_interface == "et-0/2/10.0" and str(e.src) == src for e in events)
    assert b.ipsec_statistics()["discard_errors"] == 0


def test_pfe_ike_with_bad_udp_checksum_dropped(fast_path):
    b = peer("b", fast_path=fast_path)
    packet = bytearray(udp_packet(host("a", 4), "16.1.1.2", _ike_header(28), sport=500, dport=500))
    packet[26] ^= 0xFF
    assert b.process([(WAN, bytes(packet))], 1.0) == []
    assert b.drain_events() == []
    assert b.interface_statistics("et-0/2/10.0")["et-0/2/10.0"]["input_errors"] == 1


def test_pfe_closed_udp_port_gets_port_unreachable(fast_path):
    b = peer("b", fast_path=fast_path)
    probe = udp_packet("16.1.1.1", "16.1.1.2", b"hello", sport=40000, dport=7777)
    out = b.process([(WAN, probe)], 1.0)
    assert len(out) == 1 and out[0][0] == WAN
    reply = IP(out[0][1])
    assert reply[ICMP].type == 3 and reply[ICMP].code == 3


@pytest.mark.parametrize("marker", (False, True))
def test_pfe_send_ike_builds_routed_udp(marker):
    a = peer("a")
    datagram = IkeDatagram(src=ipaddress.ip_address("16.1.1.1"), dst=ipaddress.ip_address("16.1.1.2"),
                           sport=4500 if marker else 500, dport=4500 if marker else 500,
                           payload=_ike_header(36) + bytes(8), non_esp_marker=marker)
    out = a.handle_event(datagram, 1.0)
    assert len(out) == 1 and out[0][0] == WAN
    parsed = IP(out[0][1])
    claimed = parsed[UDP].chksum
    del parsed[UDP].chksum
    assert IP(bytes(parsed))[UDP].chksum == claimed
    expected = (b"\0\0\0\0" if marker else b"") + datagram.payload
    assert bytes(parsed[UDP].payload) == expected
    # The receiving peer punts it back to its IKE daemon unchanged.
    b = peer("b")
    b.process(out, 1.0)
    (event,) = [e for e in b.drain_events() if isinstance(e, IkeDatagram)]
    assert event.payload == datagram.payload and event.non_esp_marker == marker


@pytest.mark.parametrize("size", range(0, 30))
def test_pfe_short_udp_on_encapsulation_port_never_crashes(fast_path, size):
    b = service_set_peer("b", fast_path, port=500)
    spi = next(iter(b.sad.pairs)).to_bytes(4, "big")
    packet = udp_packet(host("a", 4), "16.1.1.2", (spi + bytes(range(40)))[:size], sport=500, dport=500)
    b.process([(WAN, packet)], 1.0)  # whatever it is (IKE, truncated ESP), it is handled, not raised
    stats = b.ipsec_statistics()
    assert stats["esp_decrypted_packets"] == 0
