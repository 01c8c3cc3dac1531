"""Counter model: Junos field names, every error also a discard, the show view mapping, snapshots."""

from __future__ import annotations

import dataclasses

from pfe_testlib import LAN, TUNNEL_INDEX, WAN, host, peer, scapy_encrypt, scapy_sa, udp_packet

from netconf_device.pfe.counters import (
    ERROR_FIELDS,
    IPSEC_FIELDS,
    CounterStore,
    IpsecCounters,
    statistics_view_kwargs,
)
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
