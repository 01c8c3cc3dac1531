"""Forwarding: longest-prefix routes (IPv4/IPv6), static routes via next hops and into st0, discard and
reject, TTL expiry, ICMP echo for own addresses (also through the tunnel), Acquire, SA lifecycle
(install, rekey make-before-break, delete), configuration apply, manual SAs, activity reports."""

from __future__ import annotations

import dataclasses
import ipaddress

import pytest
from pfe_testlib import (
    LAN,
    TUNNEL_INDEX,
    WAN,
    child_sa,
    expected_forwarded,
    host,
    make_intent,
    peer,
    udp_packet,
)
from scapy.layers.inet import ICMP, IP
from scapy.layers.inet6 import ICMPv6EchoReply, ICMPv6TimeExceeded, IPv6

from netconf_device.config.intent import ManualSa, StaticRoute
from netconf_device.pfe import Datapath, ip
from netconf_device.pfe.routes import Route, RouteTable
from netconf_device.sa import Acquire, ChildSaDeleted, ChildSaInstalled, SaActivity


@pytest.fixture(params=(True, False), ids=("fast", "general"))
def fast_path(request):
    return request.param


def raw(address: str) -> bytes:
    return ipaddress.ip_address(address).packed


def ping(src: str, dst: str, *, ttl: int = 64, ident: int = 7, seq: int = 1) -> bytes:
    return ip.icmp_echo_request(raw(src), raw(dst), ident, seq, b"ping-payload", ttl=ttl)


def test_pfe_lpm_ipv4_and_ipv6():
    def route(prefix, name):
        return Route(ipaddress.ip_network(prefix), "interface", name)

    table = RouteTable([route("0.0.0.0/0", "default"), route("10.0.0.0/8", "ten"), route("10.1.0.0/16", "ten-one"),
                        route("10.1.2.3/32", "host"), route("::/0", "v6default"), route("2001:db8::/32", "doc"),
                        route("2001:db8:1::/48", "doc1")])
    assert table.lookup(raw("10.1.2.3")).interface == "host"
    assert table.lookup(raw("10.1.2.4")).interface == "ten-one"
    assert table.lookup(raw("10.2.0.1")).interface == "ten"
    assert table.lookup(raw("11.0.0.1")).interface == "default"
    assert table.lookup(raw("2001:db8:1::5")).interface == "doc1"
    assert table.lookup(raw("2001:db8:2::5")).interface == "doc"
    assert table.lookup(raw("2001:db9::1")).interface == "v6default"
    assert RouteTable([route("10.0.0.0/8", "x")]).lookup(raw("11.0.0.1")) is None


def test_pfe_route_preference_direct_beats_static():
    prefix = ipaddress.ip_network("10.0.0.0/24")
    table = RouteTable([Route(prefix, "interface", "static-one", preference=5),
                        Route(prefix, "direct", "direct-one", protocol="direct", preference=0)])
    assert table.lookup(raw("10.0.0.9")).interface == "direct-one"


def test_pfe_static_route_via_next_hop_and_ttl(fast_path):
    intent = make_intent("a", extra_routes=(
        StaticRoute(ipaddress.ip_network("8.8.8.0/24"), ("16.1.1.254",)),
        StaticRoute(ipaddress.ip_network("2001:db8:99::/48"), ("2001:db8:16::fe",)),
        StaticRoute(ipaddress.ip_network("9.9.9.0/24"), discard=True),
        StaticRoute(ipaddress.ip_network("7.7.7.0/24"), reject=True),
        StaticRoute(ipaddress.ip_network("6.6.6.0/24"), ("192.0.2.1",)),  # unresolvable next hop
    ))
    dp = Datapath("a", fast_path=fast_path)
    dp.apply_intent(intent)
    v4 = udp_packet(host("a", 4), "8.8.8.8", ttl=10)
    v6 = udp_packet(host("a", 6), "2001:db8:99::1", ttl=10)
    out = dp.process([(LAN, v4), (LAN, v6), (LAN, udp_packet(host("a", 4), "9.9.9.9"))], 1.0)
    assert out == [(WAN, expected_forwarded(v4)), (WAN, expected_forwarded(v6))]
    assert out[0][1][8] == 9 and ip.checksum(out[0][1][:20]) == 0
    # reject and "no route" answer with ICMP unreachable, from the ingress interface's address.
    out = dp.process([(LAN, udp_packet(host("a", 4), "7.7.7.7")), (LAN, udp_packet(host("a", 4), "6.6.6.6"))], 2.0)
    assert [(IP(p).src, IP(p)[ICMP].type, IP(p)[ICMP].code) for _, p in out] == [("1.1.1.1", 3, 0)] * 2


def test_pfe_ttl_expiry_sends_time_exceeded(fast_path):
    a = peer("a", fast_path=fast_path)
    out = a.process([(LAN, udp_packet(host("a", 4), host("b", 4), ttl=1)),
                     (LAN, udp_packet(host("a", 6), host("b", 6), ttl=1))], 1.0)
    assert len(out) == 2 and all(egress == LAN for egress, _ in out)
    reply = IP(out[0][1])
    assert (reply.src, reply.dst, reply[ICMP].type, reply[ICMP].code) == ("1.1.1.1", host("a", 4), 11, 0)
    assert IPv6(out[1][1]).haslayer(ICMPv6TimeExceeded)
    assert a.ipsec_statistics(TUNNEL_INDEX)["esp_encrypted_packets"] == 0


def test_pfe_ttl_expiry_after_decryption_goes_back_through_tunnel(fast_path):
    a, b = peer("a", fast_path=fast_path), peer("b", fast_path=fast_path)
    probe = udp_packet(host("a", 4), host("b", 4), ttl=2)  # a decrements to 1; b must not forward it
    back = b.process(a.process([(LAN, probe)], 1.0), 1.0)
    assert len(back) == 1 and back[0][0] == WAN and back[0][1][9] == ip.PROTO_ESP
    delivered = a.process(back, 1.0)
    assert len(delivered) == 1 and delivered[0][0] == LAN
    error = IP(delivered[0][1])
    assert error[ICMP].type == 11 and error.dst == host("a", 4)
    assert error.src == "10.255.0.2"  # st0.1 is unnumbered: the loopback address answers


def test_pfe_echo_replies_for_own_addresses(fast_path):
    a = peer("a", fast_path=fast_path)
    targets = ["1.1.1.1", "16.1.1.1", "10.255.0.1"]
    out = a.process([(LAN, ping(host("a", 4), t, seq=n)) for n, t in enumerate(targets)], 1.0)
    assert [(egress, IP(p).src, IP(p)[ICMP].type, IP(p)[ICMP].seq) for egress, p in out] == [
        (LAN, t, 0, n) for n, t in enumerate(targets)]
    out6 = a.process([(LAN, ping(host("a", 6), "2001:db8:1::1"))], 1.0)
    assert IPv6(out6[0][1]).haslayer(ICMPv6EchoReply) and IPv6(out6[0][1]).src == "2001:db8:1::1"
    bad = bytearray(ping(host("a", 4), "1.1.1.1"))
    bad[-1] ^= 1  # bad ICMP checksum: no reply
    assert a.process([(LAN, bytes(bad))], 1.0) == []


def test_pfe_ping_remote_peer_address_through_tunnel(fast_path):
    a, b = peer("a", fast_path=fast_path), peer("b", fast_path=fast_path)
    request = ping(host("a", 4), "2.2.2.1")
    to_b = a.process([(LAN, request)], 1.0)
    reply_esp = b.process(to_b, 1.0)
    assert len(reply_esp) == 1 and reply_esp[0][0] == WAN
    delivered = a.process(reply_esp, 1.0)
    reply = IP(delivered[0][1])
    assert delivered[0][0] == LAN and reply.src == "2.2.2.1" and reply[ICMP].type == 0
    assert b.ipsec_statistics(TUNNEL_INDEX)["esp_decrypted_packets"] == 1
    assert b.ipsec_statistics(TUNNEL_INDEX)["esp_encrypted_packets"] == 1


def test_pfe_acquire_when_no_sa(fast_path):
    dp = Datapath("a", fast_path=fast_path)
    dp.apply_intent(make_intent("a"))
    packet = udp_packet(host("a", 4), host("b", 4))
    assert dp.process([(LAN, packet), (LAN, packet)], 1.0) == []
    assert dp.drain_events() == [Acquire(TUNNEL_INDEX, "ipsec_vpn", ipaddress.ip_address(host("a", 4)),
                                         ipaddress.ip_address(host("b", 4)))]
    dp.process([(LAN, packet)], 1.5)
    assert dp.drain_events() == []  # throttled while the IKE daemon negotiates
    dp.process([(LAN, packet)], 2.1)
    assert len([e for e in dp.drain_events() if isinstance(e, Acquire)]) == 1
    assert dp.interface_statistics("st0.1")["st0.1"]["output_drops"] == 4
    assert not dp.interface_oper_up("st0.1")
    dp.install(ChildSaInstalled(child_sa("a")))
    assert dp.interface_oper_up("st0.1")
    assert len(dp.process([(LAN, packet)], 3.0)) == 1


def test_pfe_rekey_make_before_break(fast_path):
    a, b = peer("a", fast_path=fast_path), peer("b", fast_path=fast_path)
    packet = udp_packet(host("a", 4), host("b", 4))
    old_wire = a.process([(LAN, packet)], 1.0)
    # Both sides install the new pair; the old inbound SPI stays valid until deleted.
    new_a, new_b = child_sa("a", spi_offset=0x100), child_sa("b", spi_offset=0x100)
    a.install(ChildSaInstalled(new_a, replaces_spi_in=child_sa("a").spi_in))
    b.install(ChildSaInstalled(new_b, replaces_spi_in=child_sa("b").spi_in))
    new_wire = a.process([(LAN, packet)], 2.0)
    assert int.from_bytes(new_wire[0][1][20:24], "big") == new_a.spi_out
    assert len(b.process(old_wire + new_wire, 2.0)) == 2  # late packet on the old SA still accepted
    b.delete(ChildSaDeleted(TUNNEL_INDEX, child_sa("b").spi_in, child_sa("b").spi_out))
    late = a.process([(LAN, packet)], 3.0)
    assert len(b.process(late, 3.0)) == 1
    stale = old_wire[0][1][:24] + b"\0\0\0\x09" + old_wire[0][1][28:]
    assert b.process([(WAN, stale)], 3.0) == []
    assert b.ipsec_statistics()["invalid_spi_errors"] == 1


def test_pfe_apply_keeps_unchanged_and_updates_changed(fast_path):
    a = peer("a", fast_path=fast_path)
    spi = next(iter(a.sad.pairs))
    a.apply_intent(make_intent("a", extra_routes=(StaticRoute(ipaddress.ip_network("8.8.8.0/24"), ("16.1.1.254",)),)))
    assert next(iter(a.sad.pairs)) == spi  # unrelated change: the SA stays
    a.apply_intent(make_intent("a", df_bit="set"))
    out = a.process([(LAN, udp_packet(host("a", 4), host("b", 4), df=False))], 1.0)
    assert out[0][1][6] & 0x40  # the VPN's new DF policy applies to the installed SA
    a.apply_intent(make_intent("a", tunnel_mtu=700))
    out = a.process([(LAN, udp_packet(host("a", 4), host("b", 4), payload=b"m" * 1000))], 1.0)
    assert len(out) == 2 and max(len(p) for _, p in out) <= 700


def test_pfe_removed_vpn_drops_sas_and_counters_never_go_backwards(fast_path):
    a = peer("a", fast_path=fast_path)
    a.process([(LAN, udp_packet(host("a", 4), host("b", 4)))] * 3, 1.0)
    before = a.ipsec_statistics()
    empty = dataclasses.replace(make_intent("a"), ipsec_vpns={})
    a.apply_intent(empty)
    assert len(a.sad) == 0
    assert a.ipsec_statistics() == before  # retired into the global total
    with pytest.raises(KeyError):
        a.ipsec_statistics(TUNNEL_INDEX)
    a.clear_ipsec_statistics()
    assert all(value == 0 for value in a.ipsec_statistics().values())


def test_pfe_clear_per_tunnel_and_interface_counters(fast_path):
    a = peer("a", fast_path=fast_path)
    a.process([(LAN, udp_packet(host("a", 4), host("b", 4)))] * 2, 1.0)
    assert a.ipsec_statistics(TUNNEL_INDEX)["esp_encrypted_packets"] == 2
    stats = a.interface_statistics()
    assert stats["et-0/1/8.0"]["input_packets"] == 2 and stats["et-0/1/8"]["input_packets"] == 2
    assert stats["st0.1"]["output_packets"] == 2 and stats["et-0/2/10.0"]["output_packets"] == 2
    a.clear_ipsec_statistics(TUNNEL_INDEX)
    assert a.ipsec_statistics(TUNNEL_INDEX)["esp_encrypted_packets"] == 0
    a.clear_interface_statistics()
    assert a.interface_statistics("et-0/1/8.0")["et-0/1/8.0"]["input_packets"] == 0


def test_pfe_manual_sa_between_two_peers(fast_path):
    key = bytes(range(200, 236))

    def manual_peer(side):
        local, remote = ("16.1.1.1", "16.1.1.2") if side == "a" else ("16.1.1.2", "16.1.1.1")
        manual = ManualSa(gateway=ipaddress.ip_address(remote), external_interface="et-0/2/10",
                          local_address=None, spi=16000, encryption_algorithm="aes-256-gcm", key=key)
        dp = Datapath(side, fast_path=fast_path)
        dp.apply_intent(make_intent(side, manual=manual))
        assert dp.sad.pairs[16000].outbound.local == raw(local)
        return dp

    a, b = manual_peer("a"), manual_peer("b")
    packet = udp_packet(host("a", 4), host("b", 4))
    assert b.process(a.process([(LAN, packet)], 1.0), 1.0) == [(LAN, expected_forwarded(expected_forwarded(packet)))]
    reply = udp_packet(host("b", 4), host("a", 4))
    assert len(a.process(b.process([(LAN, reply)], 1.0), 1.0)) == 1


def test_pfe_sa_activity_reports(fast_path):
    a = peer("a", fast_path=fast_path)
    spi_in = next(iter(a.sad.pairs))
    a.process([(LAN, udp_packet(host("a", 4), host("b", 4)))], 5.0)
    events = [e for e in a.drain_events() if isinstance(e, SaActivity)]
    assert events == [SaActivity(spi_in, None, 5.0)]
    a.process([], 5.5)
    assert a.drain_events() == []  # nothing new, and not due yet
    assert a.sa_activity(spi_in) == SaActivity(spi_in, None, 5.0)


def test_pfe_unknown_and_disabled_interfaces(fast_path):
    a = peer("a", fast_path=fast_path)
    assert a.process([("et-9/9/9", udp_packet(host("a", 4), host("b", 4)))], 1.0) == []
    assert a.unknown_interface_drops == 1
    garbage = [(LAN, b""), (LAN, b"\x45"), (LAN, b"\x75" + bytes(40)), (LAN, bytes(60))]
    assert a.process(garbage, 1.0) == []
    assert a.interface_statistics("et-0/1/8.0")["et-0/1/8.0"]["input_errors"] == 4


def test_pfe_per_tunnel_statistics_and_sa_usage(fast_path):
    a = peer("a", fast_path=fast_path, lifetime_bytes=10_000_000)
    spi_in = next(iter(a.sad.pairs))
    a.process([(LAN, udp_packet(host("a", 4), host("b", 4), payload=b"u" * 100))] * 3, 1.0)
    assert a.ipsec_statistics_by_tunnel()[TUNNEL_INDEX]["esp_encrypted_packets"] == 3
    usage = a.sa_usage(spi_in)
    assert usage["outbound_packets"] == 3 and usage["outbound_bytes"] == 3 * 128
    assert usage["outbound_sequence"] == 3
    assert a.sa_usage(12345) is None


def test_pfe_on_commit_refuses_what_it_cannot_carry():
    dp = Datapath("a")
    bad_key = ManualSa(gateway=ipaddress.ip_address("16.1.1.2"), external_interface="et-0/2/10",
                       local_address=None, spi=300, encryption_algorithm="aes-256-gcm", key=b"short")
    with pytest.raises(ValueError, match="manual SA: aes-256-gcm needs 36 bytes"):
        dp.on_commit(dp.intent, make_intent("a", manual=bad_key))
    with pytest.raises(ValueError, match="anti-replay window 100000"):
        dp.on_commit(dp.intent, make_intent("a", anti_replay_window=100_000))
    assert dp.intent.ipsec_vpns == {}  # nothing applied
    good = make_intent("a")
    dp.on_commit(dp.intent, good)
    assert dp.intent is good and dp.vpn_by_st0["st0.1"].tunnel_index == TUNNEL_INDEX
