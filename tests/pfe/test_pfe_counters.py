"""Counter model: Junos field names, every error also a discard, the show view mapping, snapshots."""

from __future__ import annotations

import dataclasses

import pytest
from pfe_testlib import (
    ALL_PATHS,
    LAN,
    TUNNEL_INDEX,
    WAN,
    host,
    path_options,
    peer,
    scapy_encrypt,
    scapy_sa,
    udp_packet,
)

from netconf_device.pfe.counters import (
    ERROR_FIELDS,
    IPSEC_FIELDS,
    CounterStore,
    IpsecCounters,
    statistics_view_kwargs,
)
from netconf_device.sa import UdpEncap
from netconf_device.show.views import IpsecStatisticsView


def test_pfe_counter_names_follow_junos_xml():
    junos = """esp-encrypted-bytes esp-decrypted-bytes esp-encrypted-packets esp-decrypted-packets ah-input-bytes
        ah-output-bytes ah-input-packets ah-output-packets ah-authentication-failures replay-errors
        esp-authentication-failures esp-decryption-failures bad-headers bad-trailers invalid-spi-errors
        ts-check-fail-errors exceeds-tunnel-mtu discard-errors""".split()
    assert list(IPSEC_FIELDS) == [name.replace("-", "_") for name in junos]


def test_pfe_every_error_is_also_a_discard():
    counters = IpsecCounters()
    for reason in sorted(ERROR_FIELDS) + ["udp_encap_port_mismatch"]:
        counters.drop(reason)
    values = counters.as_dict()
    assert values["discard_errors"] == len(ERROR_FIELDS) + 1
    assert values["bad_headers"] == 2  # its own drop and the UDP-encapsulation one


def test_pfe_statistics_map_onto_the_show_view():
    view_fields = {f.name for f in dataclasses.fields(IpsecStatisticsView)}
    b = peer("b")
    inner = udp_packet(host("a", 4), host("b", 4))
    b.process([(WAN, scapy_encrypt(scapy_sa("a"), inner, seq_num=1))] * 2, 1.0)
    view = IpsecStatisticsView(**statistics_view_kwargs(b.ipsec_statistics(TUNNEL_INDEX)))
    assert set(statistics_view_kwargs(b.ipsec_statistics())) == view_fields
    assert (view.decrypted_packets, view.replay_errors, view.discarded) == (1, 1, 1)


def test_pfe_snapshots_are_copies_and_interfaces_sum_up():
    store = CounterStore()
    store.tunnel(1).esp_encrypted_packets = 5
    snapshot = store.ipsec_snapshot()
    store.tunnel(1).esp_encrypted_packets = 7
    assert snapshot["esp_encrypted_packets"] == 5
    a = peer("a")
    a.process([(LAN, udp_packet(host("a", 4), host("b", 4)))], 1.0)
    stats = a.interface_statistics()
    assert stats["et-0/1/8"] == stats["et-0/1/8.0"]
    assert stats["st0"]["output_packets"] == 1


@pytest.mark.parametrize("impl", ALL_PATHS)
@pytest.mark.parametrize("outer,encap", ((4, None), (4, UdpEncap("nat-t", 4500, 4500)), (6, None)),
                         ids=("esp4", "nat-t4", "esp6"))
def test_pfe_byte_counters_count_what_junos_counts(impl, outer, encap):
    """``esp-encrypted-bytes`` counts the ESP packets sent (outer header included), ``esp-decrypted-bytes``
    the inner packets recovered: the reference cSRX capture (junos-xml.md 2.3) shows 94163 packets each way
    with 14689428 encrypted bytes (156 per packet: an 84-byte ping in outer IPv4 + ESP with AES-CBC and
    HMAC-SHA-256-128, 20 + 8 + 16 + 96 + 16) and 7909692 decrypted bytes (84 per packet: the ping itself)."""
    kwargs = {**path_options(impl), "outer_version": outer, "encap": encap}
    a, b = peer("a", **kwargs), peer("b", **kwargs)
    ping = udp_packet(host("a", 4), host("b", 4), payload=b"p" * 56)  # 84 bytes, like `ping` by default
    assert len(ping) == 84
    big = udp_packet(host("a", 4), host("b", 4), payload=b"f" * 3000)  # pre-fragmented into 3 inner packets
    sent = a.process([(LAN, ping)] * 3 + [(LAN, big)], 1.0)
    assert len(sent) == 6
    outer_overhead = (20 if outer == 4 else 40) + (8 if encap else 0) + 8 + 8 + 2 + 16  # + padding to 4
    assert len(sent[0][1]) == 84 + 2 + outer_overhead  # 140 for plain ESP in IPv4 (AES-GCM, 2 bytes padding)
    received = b.process(sent, 1.0)
    assert len(received) == 6
    stats_a, stats_b = a.ipsec_statistics(TUNNEL_INDEX), b.ipsec_statistics(TUNNEL_INDEX)
    assert stats_a["esp_encrypted_packets"] == stats_b["esp_decrypted_packets"] == 6
    assert stats_a["esp_encrypted_bytes"] == sum(len(p) for _, p in sent)
    inner_sizes = [len(p) for _, p in received]  # what b forwards: the inner packets (TTL - 1, same size)
    assert stats_b["esp_decrypted_bytes"] == sum(inner_sizes) == 3 * 84 + sum(inner_sizes[3:])
    # the WAN interfaces see the same outer bytes, st0 the inner ones
    assert a.interface_statistics(WAN)[WAN]["output_bytes"] == stats_a["esp_encrypted_bytes"]
    assert b.interface_statistics("st0.1")["st0.1"]["input_bytes"] == stats_b["esp_decrypted_bytes"]
