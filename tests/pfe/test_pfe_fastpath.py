"""The batched fast paths against the general per-packet path: the same traffic gives the same packets
(byte for byte where the order is the same), the same delivered inner packets and the same counters.

Every test runs once per fast-path implementation: the pure-Python loops and the C extension
(``netconf_device/pfe/_espfast.c``; skipped with a reason when it is not built)."""

from __future__ import annotations

import ipaddress
import random

import pytest
from pfe_testlib import (
    FAST_PATHS,
    LAN,
    TUNNEL_INDEX,
    WAN,
    expected_forwarded,
    host,
    needs_c_fast_path,
    peer,
    scapy_decrypt,
    scapy_encrypt,
    scapy_sa,
    udp_packet,
)

from netconf_device.config.intent import StaticRoute
from netconf_device.pfe import ip
from netconf_device.sa import RekeyRequest, UdpEncap


@pytest.fixture(params=FAST_PATHS)
def impl(request) -> str:
    return request.param


def _state(dp) -> tuple:
    """Everything observable after a batch: counters, events, per-SA usage (sequence numbers, window)."""
    usage = {spi: dp.sa_usage(spi) for spi in dp.sad.pairs}
    windows = {spi: sa.replay.bitmap for spi, sa in dp.sad.inbound.items()}
    return dp.ipsec_statistics(), dp.interface_statistics(), dp.drain_events(), usage, windows


def test_pfe_fast_and_general_identical_for_plain_traffic(impl):
    fast, general = peer("a", fast_path_impl=impl), peer("a", fast_path=False)
    assert fast.fast.implementation == impl
    rng = random.Random(7)
    batch = [(LAN, udp_packet(host("a", 4), host("b", 4), payload=rng.randbytes(rng.randint(0, 1400)),
                              tos=rng.choice((0, 0xB8, 0x2A)), df=rng.random() < 0.5, sport=rng.randint(1, 65535)))
             for _ in range(300)]
    out_fast = fast.process(batch, 1.0)
    assert out_fast == general.process(batch, 1.0)
    assert fast.fast.packets == 300 and general.fast.packets == 0
    oracle = scapy_sa("a")  # an independent decoder reads what this implementation produced
    assert [scapy_decrypt(oracle, p) for _, p in out_fast[:40]] == [expected_forwarded(p) for _, p in batch[:40]]
    b_fast, b_general = peer("b", fast_path_impl=impl), peer("b", fast_path=False)
    back_fast = b_fast.process(out_fast, 2.0)
    assert back_fast == b_general.process(out_fast, 2.0)
    assert b_fast.fast.packets == 300
    assert back_fast == [(LAN, expected_forwarded(expected_forwarded(p))) for _, p in batch]
    for x, y in ((fast, general), (b_fast, b_general)):
        assert _state(x) == _state(y)


def _mixed_batch(rng: random.Random, seq_start: int) -> list:
    """LAN traffic with oddities (TTL 1, oversize, IPv6, pings) and WAN ESP with replays and forgeries."""
    batch = []
    sender = scapy_sa("b")
    for i in range(120):
        kind = rng.random()
        if kind < 0.5:
            batch.append((LAN, udp_packet(host("a", 4), host("b", 4), payload=rng.randbytes(rng.randint(0, 1600)),
                                          ttl=rng.choice((64, 1, 2)), df=rng.random() < 0.3)))
        elif kind < 0.6:
            batch.append((LAN, udp_packet(host("a", 6), host("b", 6), payload=rng.randbytes(rng.randint(0, 200)))))
        elif kind < 0.65:
            batch.append((LAN, ip.icmp_echo_request(bytes((1, 1, 1, 2)), bytes((1, 1, 1, 1)), 1, i)))
        else:
            inner_v6 = rng.random() < 0.1
            inner = expected_forwarded(udp_packet(host("b", 6 if inner_v6 else 4),
                                                  host("a", 6 if inner_v6 else 4, rng.choice((2, 3))),
                                                  payload=rng.randbytes(rng.randint(0, 900)),
                                                  ttl=rng.choice((64, 64, 1)), tos=rng.choice((0, 3, 1))))
            seq = seq_start + i if rng.random() < 0.8 else seq_start + rng.randint(0, i)
            esp = bytearray(scapy_encrypt(sender, inner, seq_num=max(seq, 1)))
            if rng.random() < 0.05:
                esp[-1] ^= 1
            if rng.random() < 0.1:
                esp[1] |= 3  # CE on the outer header
                esp[10:12] = b"\0\0"
                esp[10:12] = ip.checksum(bytes(esp[:20])).to_bytes(2, "big")
            batch.append((WAN, bytes(esp)))
    return batch


def _decrypt_all(packets):
    """Inner packets of ESP leaving a (hence comparable whatever the sequence numbers were)."""
    oracle = scapy_sa("a")
    result = []
    for egress, packet in packets:
        if egress == WAN and packet[9] == ip.PROTO_ESP:
            result.append(("esp", scapy_decrypt(oracle, packet)))
        else:
            result.append((egress, packet))
    return sorted(result)


def test_pfe_fast_and_general_agree_on_mixed_traffic(impl):
    fast = peer("a", fast_path_impl=impl, intent_kwargs={"tunnel_mtu": 1200})
    general = peer("a", fast_path=False, intent_kwargs={"tunnel_mtu": 1200})
    rng = random.Random(11)
    for round_number in range(4):
        batch = _mixed_batch(rng, 1 + round_number * 200)
        out_fast = fast.process(batch, float(round_number))
        out_general = general.process(batch, float(round_number))
        assert _decrypt_all(out_fast) == _decrypt_all(out_general)
    assert fast.fast.packets > 80
    assert fast.ipsec_statistics() == general.ipsec_statistics()
    assert fast.interface_statistics() == general.interface_statistics()


@needs_c_fast_path
def test_pfe_c_and_python_fast_paths_identical_in_order():
    """The two implementations emit the same packets in the same order, with the same state after each
    batch (the general path may order a batch differently, the two fast paths may not)."""
    peers = {impl: peer("a", fast_path_impl=impl, intent_kwargs={"tunnel_mtu": 1200}) for impl in ("c", "python")}
    rng = random.Random(5)
    for round_number in range(6):
        batch = _mixed_batch(rng, 1 + round_number * 150)
        outputs = {impl: dp.process(batch, float(round_number)) for impl, dp in peers.items()}
        assert outputs["c"] == outputs["python"]
        assert _state(peers["c"]) == _state(peers["python"])
    assert peers["c"].fast.packets == peers["python"].fast.packets > 200


@pytest.mark.parametrize("kwargs", (
    {"encap": UdpEncap("nat-t", 4500, 4500)},
    {"encap": UdpEncap("nat-t", 4500, 4500), "intent_kwargs": {"df_bit": "clear"}},
    {"esn": True, "intent_kwargs": {"esn": True}},
    {"intent_kwargs": {"df_bit": "set", "anti_replay_window": 4096}},
    {"algorithm": "aes-128-gcm", "intent_kwargs": {"anti_replay_window": 0}},
), ids=("nat-t", "nat-t-df-clear", "esn", "df-set-window-4096", "aes128-no-replay"))
def test_pfe_fast_path_variants_identical(impl, kwargs):
    fast, general = peer("a", fast_path_impl=impl, **kwargs), peer("a", fast_path=False, **kwargs)
    batch = [(LAN, udp_packet(host("a", 4), host("b", 4), payload=bytes([n]) * n, df=n % 3 == 0)) for n in range(50)]
    out = fast.process(batch, 1.0)
    assert out == general.process(batch, 1.0)
    assert fast.fast.packets == 50
    nat_t = (4500, 4500) if "encap" in kwargs else None
    oracle = scapy_sa("a", esn=kwargs.get("esn", False), nat_t=nat_t, algorithm=kwargs.get("algorithm", "aes-256-gcm"))
    assert [scapy_decrypt(oracle, p) for _, p in out[:10]] == [expected_forwarded(p) for _, p in batch[:10]]
    b_fast, b_general = peer("b", fast_path_impl=impl, **kwargs), peer("b", fast_path=False, **kwargs)
    replayed = out + out[:3]
    assert b_fast.process(replayed, 1.0) == b_general.process(replayed, 1.0)
    window_off = kwargs.get("intent_kwargs", {}).get("anti_replay_window") == 0
    assert b_fast.fast.packets == (53 if window_off else 50)  # the replays pass only without a window
    assert _state(b_fast) == _state(b_general)
    assert _state(fast) == _state(general)


def test_pfe_fast_path_esn_across_the_32_bit_boundary(impl):
    fast, general = (peer("a", fast_path_impl=impl, esn=True, intent_kwargs={"esn": True}),
                     peer("a", fast_path=False, esn=True, intent_kwargs={"esn": True}))
    for dp in (fast, general):
        next(iter(dp.sad.pairs.values())).outbound.seq = (1 << 32) - 4
    batch = [(LAN, udp_packet(host("a", 4), host("b", 4), payload=bytes([n]) * 20)) for n in range(8)]
    out = fast.process(batch, 1.0)
    assert out == general.process(batch, 1.0)
    assert fast.fast.packets == 8
    # The low 32 bits wrapped on the wire; scapy needs the high half to check the ICV.
    assert scapy_decrypt(scapy_sa("a", esn=True), out[2][1], esn_high=0) == expected_forwarded(batch[2][1])
    assert scapy_decrypt(scapy_sa("a", esn=True), out[5][1], esn_high=1) == expected_forwarded(batch[5][1])
    receivers = [peer("b", fast_path_impl=impl, esn=True, intent_kwargs={"esn": True}),
                 peer("b", fast_path=False, esn=True, intent_kwargs={"esn": True})]
    results = [dp.process(out[:4], 2.0) + dp.process(out[4:] + out[1:2], 3.0) for dp in receivers]
    assert results[0] == results[1] and len(results[0]) == 8
    assert _state(receivers[0]) == _state(receivers[1])
    assert receivers[0].sa_usage(0xA0001001)["inbound_highest_sequence"] == (1 << 32) + 4


def test_pfe_fast_path_sequence_soft_limit_asks_for_rekey(impl):
    fast, general = peer("a", fast_path_impl=impl), peer("a", fast_path=False)
    for dp in (fast, general):
        sa = next(iter(dp.sad.pairs.values())).outbound
        sa.seq = sa.seq_soft - 10
    batch = [(LAN, udp_packet(host("a", 4), host("b", 4))) for _ in range(40)]
    assert fast.process(batch, 1.0) == general.process(batch, 1.0)
    events = fast.drain_events()
    assert [e for e in events if isinstance(e, RekeyRequest)] == [
        RekeyRequest(TUNNEL_INDEX, next(iter(fast.sad.pairs)), "sequence")]
    assert events == general.drain_events()
    assert _state(fast) == _state(general)


# --------------------------------------------------------------------------- fixed divergences
# Each of these once differed between the fast path and the general path (the reference).
def test_pfe_fast_path_drops_inner_packet_with_bad_checksum(impl):
    inner = bytearray(expected_forwarded(udp_packet(host("b", 4), host("a", 4))))
    inner[10] ^= 0x55
    wire = [(WAN, scapy_encrypt(scapy_sa("b"), bytes(inner), seq_num=1))]
    fast, general = peer("a", fast_path_impl=impl), peer("a", fast_path=False)
    assert fast.process(wire, 1.0) == general.process(wire, 1.0) == []
    assert fast.interface_statistics("st0.1")["st0.1"]["input_errors"] == 1
    assert _state(fast) == _state(general)


def test_pfe_fast_path_checks_ipv4_only_selectors_on_ipv6_inner(impl):
    any4 = (ipaddress.ip_network("0.0.0.0/0"),)
    sender = scapy_sa("b")
    wire = [(WAN, scapy_encrypt(sender, expected_forwarded(udp_packet(host("b", 6), host("a", 6))), seq_num=1)),
            (WAN, scapy_encrypt(sender, expected_forwarded(udp_packet(host("b", 4), host("a", 4))), seq_num=2))]
    fast = peer("a", fast_path_impl=impl, local_ts=any4, remote_ts=any4)
    general = peer("a", fast_path=False, local_ts=any4, remote_ts=any4)
    out = fast.process(wire, 1.0)
    assert out == general.process(wire, 1.0) and len(out) == 1
    assert fast.ipsec_statistics(TUNNEL_INDEX)["ts_check_fail_errors"] == 1
    assert _state(fast) == _state(general)


def test_pfe_fast_path_never_forwards_multicast_or_broadcast(impl):
    default_into_tunnel = (StaticRoute(ipaddress.ip_network("0.0.0.0/0"), ("st0.1",)),)
    fast = peer("a", fast_path_impl=impl, intent_kwargs={"extra_routes": default_into_tunnel})
    general = peer("a", fast_path=False, intent_kwargs={"extra_routes": default_into_tunnel})
    outbound = [(LAN, udp_packet(host("a", 4), d)) for d in ("224.0.0.5", "255.255.255.255", "0.1.2.3", "9.9.9.9")]
    out = fast.process(outbound, 1.0)
    assert out == general.process(outbound, 1.0) and len(out) == 1  # only 9.9.9.9 is encrypted
    default_to_lan = (StaticRoute(ipaddress.ip_network("0.0.0.0/0"), ("1.1.1.2",)),)
    fast = peer("a", fast_path_impl=impl, intent_kwargs={"extra_routes": default_to_lan})
    general = peer("a", fast_path=False, intent_kwargs={"extra_routes": default_to_lan})
    sender = scapy_sa("b")
    inbound = [(WAN, scapy_encrypt(sender, expected_forwarded(udp_packet(host("b", 4), d)), seq_num=n))
               for n, d in enumerate(("224.0.0.5", "255.255.255.255", "1.1.1.2"), 1)]
    out = fast.process(inbound, 1.0)
    assert out == general.process(inbound, 1.0) and len(out) == 1
    assert fast.interface_statistics("st0.1")["st0.1"]["input_drops"] == 2
    assert _state(fast) == _state(general)
