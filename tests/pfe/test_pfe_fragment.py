"""Tunnel MTU: IPv4 pre-fragmentation before encryption (never outer fragments), ICMP "fragmentation
needed" with DF, ICMPv6 Packet Too Big for IPv6. Fragments are decrypted and reassembled by scapy."""

from __future__ import annotations

import ipaddress

import pytest
from pfe_testlib import (
    LAN,
    TUNNEL_INDEX,
    esp_fields,
    expected_forwarded,
    host,
    peer,
    scapy_decrypt,
    scapy_sa,
    udp_packet,
)
from scapy.layers.inet import ICMP, IP, defragment
from scapy.layers.inet6 import ICMPv6PacketTooBig, IPv6

from netconf_device.pfe import ip
from netconf_device.pfe.esp import max_inner_length
from netconf_device.pfe.fragment import Reassembler, fragment_ipv4
from netconf_device.sa import UdpEncap


@pytest.fixture(params=(True, False), ids=("fast", "general"))
def fast_path(request):
    return request.param


def _assert_no_outer_fragments(out, mtu):
    for _, packet in out:
        assert len(packet) <= mtu
        if packet[0] >> 4 == 4:
            assert not (packet[6] & 0x3F or packet[7]), "an outer IPv4 fragment was produced"
        else:
            assert packet[6] != 44, "an outer IPv6 fragment header was produced"


@pytest.mark.parametrize("outer", (4, 6))
@pytest.mark.parametrize("encap", (None, UdpEncap("nat-t", 4500, 4500)), ids=("esp", "nat-t"))
@pytest.mark.parametrize("mtu", (576, 1000, 1400))
def test_pfe_prefragmentation_reassembles_to_original(fast_path, outer, encap, mtu):
    a = peer("a", fast_path=fast_path, intent_kwargs={"tunnel_mtu": mtu}, outer_version=outer, encap=encap)
    oracle = scapy_sa("a", outer_version=outer, nat_t=(4500, 4500) if encap else None)
    original = udp_packet(host("a", 4), host("b", 4), payload=bytes(range(256)) * 12, ident=4242)  # 3100 bytes
    out = a.process([(LAN, original)], 1.0)
    assert len(out) > 2
    _assert_no_outer_fragments(out, mtu)
    assert [esp_fields(p)[2] for _, p in out] == list(range(1, len(out) + 1))
    fragments = [IP(scapy_decrypt(oracle, p)) for _, p in out]
    assert all(len(f) <= max_inner_length(mtu, outer == 6, encap is not None) for f in fragments)
    assert bytes(defragment(fragments)[0]) == expected_forwarded(original)
    stats = a.ipsec_statistics(TUNNEL_INDEX)
    assert stats["esp_encrypted_packets"] == len(out)
    assert stats["exceeds_tunnel_mtu"] == 0


def test_pfe_largest_packet_that_fits_is_not_fragmented(fast_path):
    mtu = 1400
    a = peer("a", fast_path=fast_path, intent_kwargs={"tunnel_mtu": mtu})
    limit = max_inner_length(mtu, False, False)
    fits = udp_packet(host("a", 4), host("b", 4), payload=b"f" * (limit - 28))
    too_big = udp_packet(host("a", 4), host("b", 4), payload=b"f" * (limit - 27))
    out = a.process([(LAN, fits), (LAN, too_big)], 1.0)
    assert len(out[0][1]) <= mtu and len(out) == 3
    assert mtu - 3 <= len(out[0][1])  # at most the alignment padding is left unused


def test_pfe_df_set_drops_with_frag_needed(fast_path):
    mtu = 1000
    a = peer("a", fast_path=fast_path, intent_kwargs={"tunnel_mtu": mtu})
    big = udp_packet(host("a", 4), host("b", 4), payload=b"d" * 1200, df=True)
    out = a.process([(LAN, big)], 1.0)
    assert len(out) == 1
    egress, reply = out[0]
    assert egress == LAN
    parsed = IP(reply)
    assert parsed.src == "1.1.1.1" and parsed.dst == host("a", 4)
    assert parsed[ICMP].type == 3 and parsed[ICMP].code == 4
    assert parsed[ICMP].nexthopmtu == max_inner_length(mtu, False, False)
    assert bytes(parsed[ICMP].payload)[:20] == expected_forwarded(big)[:20]
    stats = a.ipsec_statistics(TUNNEL_INDEX)
    assert stats["exceeds_tunnel_mtu"] == 1 and stats["discard_errors"] == 1
    assert stats["esp_encrypted_packets"] == 0


def test_pfe_ipv6_gets_packet_too_big(fast_path):
    mtu = 1300
    a = peer("a", fast_path=fast_path, intent_kwargs={"tunnel_mtu": mtu})
    big = udp_packet(host("a", 6), host("b", 6), payload=b"6" * 1400)
    out = a.process([(LAN, big)], 1.0)
    assert len(out) == 1
    parsed = IPv6(out[0][1])
    assert parsed.src == "2001:db8:1::1" and parsed.dst == host("a", 6)
    assert parsed[ICMPv6PacketTooBig].mtu == max_inner_length(mtu, False, False)
    assert a.ipsec_statistics(TUNNEL_INDEX)["exceeds_tunnel_mtu"] == 1


def test_pfe_df_policy_on_outer_header(fast_path):
    with_df = udp_packet(host("a", 4), host("b", 4), df=True)
    without_df = udp_packet(host("a", 4), host("b", 4), df=False)
    for policy, expected in (("copy", (True, False)), ("set", (True, True)), ("clear", (False, False))):
        a = peer("a", fast_path=fast_path, intent_kwargs={"df_bit": policy})
        out = a.process([(LAN, with_df), (LAN, without_df)], 1.0)
        assert tuple(bool(p[6] & 0x40) for _, p in out) == expected, policy


def test_pfe_dscp_and_ttl_on_outer_header(fast_path):
    a = peer("a", fast_path=fast_path)
    a6 = peer("a", fast_path=fast_path, outer_version=6)
    packet = udp_packet(host("a", 4), host("b", 4), tos=0xB8, ttl=5)  # EF
    packet6 = udp_packet(host("a", 6), host("b", 6), tos=0x28, ttl=9)  # AF11
    outer = a.process([(LAN, packet)], 1.0)[0][1]
    assert outer[1] == 0xB8 and outer[8] == 64
    outer6 = a6.process([(LAN, packet6)], 1.0)[0][1]
    assert ((outer6[0] & 0x0F) << 4 | outer6[1] >> 4) == 0x28 and outer6[7] == 64
    assert ip.checksum(outer[:20]) == 0


def test_pfe_wan_mtu_bounds_tunnel_mtu(fast_path):
    a = peer("a", fast_path=fast_path, intent_kwargs={"wan_mtu": 1014})  # IP MTU 1000
    out = a.process([(LAN, udp_packet(host("a", 4), host("b", 4), payload=b"w" * 1400))], 1.0)
    _assert_no_outer_fragments(out, 1000)
    assert len(out) == 2


def test_pfe_fragment_ipv4_keeps_copied_options_only():
    option_copied = bytes((0x88, 4, 0xAB, 0xCD))  # stream id: copy flag set
    option_first_only = bytes((0x07, 3, 4)) + b"\x01"  # record route + padding (nop)
    src, dst = ipaddress.ip_address("1.1.1.2").packed, ipaddress.ip_address("2.2.2.2").packed
    payload = bytes(range(256)) * 4
    options = option_copied + option_first_only
    header = bytearray(ip.ipv4_header(src, dst, 17, len(payload)))
    header[0] = 0x45 + len(options) // 4
    header[2:4] = (20 + len(options) + len(payload)).to_bytes(2, "big")
    header[10:12] = b"\0\0"
    header = bytes(header) + options
    header = header[:10] + ip.checksum(header).to_bytes(2, "big") + header[12:]
    packet = header + payload
    fragments = fragment_ipv4(packet, 300)
    assert fragments[0][20:28] == options
    assert all(f[20:24] == option_copied and (f[0] & 0x0F) == 6 for f in fragments[1:])
    assert all(ip.checksum(f[:(f[0] & 0x0F) * 4]) == 0 for f in fragments)
    assert bytes(defragment([IP(f) for f in fragments])[0])[-len(payload):] == payload


def test_pfe_reassembler_bounds_and_order():
    packet = udp_packet(host("a", 4), host("b", 4), payload=bytes(range(200)) * 10)
    fragments = fragment_ipv4(packet, 500)
    reassembler = Reassembler()
    results = [reassembler.add(f, 0.0) for f in reversed(fragments)]
    assert results[:-1] == [None] * (len(fragments) - 1) and results[-1] == packet
    small = Reassembler(max_datagrams=2)
    for ident in range(5):
        first = fragment_ipv4(udp_packet(host("a", 4), host("b", 4), payload=b"x" * 1000, ident=ident), 300)[0]
        small.add(first, 0.0)
    assert small.dropped == 3
    assert small.add(fragments[1], 100.0) is None and small.dropped >= 5  # the two pending timed out
