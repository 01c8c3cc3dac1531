"""Anti-replay window and ESN inference (RFC 4303 3.4.3 and appendix A), unit and through the datapath."""

from __future__ import annotations

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

from netconf_device.pfe.replay import Lifetime, ReplayWindow, sequence_limits
from netconf_device.sa import RekeyRequest


def _accept(window: ReplayWindow, seq_low: int) -> bool:
    seq = window.infer(seq_low)
    if not window.check(seq):
        return False
    window.update(seq)
    return True


def test_pfe_replay_duplicate_old_inside_and_far_ahead():
    window = ReplayWindow(64, esn=False)
    assert _accept(window, 1)
    assert not _accept(window, 1)  # duplicate
    assert _accept(window, 100)
    assert _accept(window, 60)  # inside the window (100 - 60 < 64), not seen yet
    assert not _accept(window, 60)  # now a duplicate
    assert not _accept(window, 36)  # 100 - 36 = 64: just left of the window
    assert _accept(window, 37)  # the oldest still inside
    assert _accept(window, 1_000_000)  # far ahead: the window slides
    assert not _accept(window, 100)  # what was the top is now far behind
    assert window.top == 1_000_000 and window.bitmap == 1


def test_pfe_replay_rejects_zero_and_supports_large_windows():
    window = ReplayWindow(4096, esn=False)
    assert not _accept(window, 0)
    assert _accept(window, 5000)
    assert _accept(window, 5000 - 4095)
    assert not _accept(window, 5000 - 4096)
    with pytest.raises(ValueError):
        ReplayWindow(-1, esn=False)


def test_pfe_replay_off_accepts_everything():
    window = ReplayWindow(0, esn=False)
    for seq in (5, 5, 1, 0, 3):
        assert _accept(window, seq)


def test_pfe_esn_inference_rfc4303_appendix_a():
    window = ReplayWindow(64, esn=True)
    # Before any wrap: case B with nothing below subspace 0 -> a high low half is simply ahead.
    assert window.infer(5) == 5
    assert window.infer(0xFFFFFFF0) == 0xFFFFFFF0
    window.update((1 << 32) - 10)
    # Case A: the window lies in subspace 0; a small low half must be the next subspace.
    assert window.infer(3) == (1 << 32) + 3
    assert window.infer(0xFFFFFFF0) == 0xFFFFFFF0
    window.update((1 << 32) + 3)
    # Case B: the window spans both subspaces.
    assert window.infer(0xFFFFFFF0) == 0xFFFFFFF0  # old side, inside the window (th - 1)
    assert window.infer(2) == (1 << 32) + 2
    assert window.infer(1000) == (1 << 32) + 1000
    assert window.check(window.infer(0xFFFFFFF8)) and not window.check(window.infer(0xFFFFFFF6))


def test_pfe_esn_inference_without_anti_replay_uses_half_space():
    window = ReplayWindow(0, esn=True)
    window.update((7 << 32) + 0x10)
    assert window.infer(0x20) == (7 << 32) + 0x20
    assert window.infer(0xF0000000) == (6 << 32) + 0xF0000000
    assert window.infer(0x70000000) == (7 << 32) + 0x70000000


def test_pfe_sequence_limits_and_lifetime_events():
    assert sequence_limits(False)[0] == (1 << 32) - 1
    assert sequence_limits(True)[0] == (1 << 64) - 1
    limit, soft = sequence_limits(False)
    assert soft < limit
    lifetime = Lifetime(bytes_limit=1000, packets_limit=None)
    assert lifetime.consume(1, 800) is None
    assert lifetime.consume(1, 100) == "bytes"  # 90% crossed
    assert lifetime.consume(1, 10) is None  # reported once
    assert lifetime.exceeded_by(1, 90) is None and lifetime.exceeded_by(1, 91) == "bytes"


@pytest.mark.parametrize("fast_path", (True, False), ids=("fast", "general"))
@pytest.mark.parametrize("window", (64, 4096, 0))
def test_pfe_replayed_packets_dropped_and_counted(window, fast_path):
    b = peer("b", fast_path=fast_path, intent_kwargs={"anti_replay_window": window})
    sender = scapy_sa("a")
    inner = expected_forwarded(udp_packet(host("a", 4), host("b", 4)))
    sequence = [10, 10, 5000, 5000 - 63, 5000 - 64, 9, 5000 - 4095, 5000 - 4096, 1 << 31, 5000]
    wire = [(WAN, scapy_encrypt(sender, inner, seq_num=seq)) for seq in sequence]
    out = b.process(wire, 1.0)
    if window == 0:
        accepted = len(sequence)
    elif window == 64:
        accepted = 4  # 10, 5000, 4937, 2^31; the rest are duplicates or left of the window
    else:
        accepted = 6  # 10, 5000, 4937, 4936, 905, 2^31
    assert len(out) == accepted
    stats = b.ipsec_statistics(TUNNEL_INDEX)
    assert stats["replay_errors"] == len(sequence) - accepted
    assert stats["discard_errors"] == len(sequence) - accepted
    assert stats["esp_decrypted_packets"] == accepted


@pytest.mark.parametrize("fast_path", (True, False), ids=("fast", "general"))
def test_pfe_window_moves_only_after_icv(fast_path):
    b = peer("b", fast_path=fast_path)
    sender = scapy_sa("a")
    inner = expected_forwarded(udp_packet(host("a", 4), host("b", 4)))
    forged = bytearray(scapy_encrypt(sender, inner, seq_num=1000))
    forged[-1] ^= 1  # the ICV no longer verifies
    assert b.process([(WAN, bytes(forged))], 1.0) == []
    assert b.ipsec_statistics(TUNNEL_INDEX)["esp_authentication_failures"] == 1
    # A forged packet must not have moved the window: sequence 1 is still fresh.
    assert len(b.process([(WAN, scapy_encrypt(sender, inner, seq_num=1))], 1.0)) == 1


@pytest.mark.parametrize("fast_path", (True, False), ids=("fast", "general"))
def test_pfe_lifetime_events_and_hard_limit(fast_path):
    a = peer("a", fast_path=fast_path, lifetime_packets=10)
    pair = next(iter(a.sad.pairs.values()))
    packets = [(LAN, udp_packet(host("a", 4), host("b", 4))) for _ in range(12)]
    out = a.process(packets[:8], 1.0)
    assert len(out) == 8
    assert not [e for e in a.drain_events() if isinstance(e, RekeyRequest)]
    out = a.process(packets[8:9], 2.0)
    assert [e for e in a.drain_events() if isinstance(e, RekeyRequest)] == [
        RekeyRequest(TUNNEL_INDEX, pair.inbound.spi, "packets")]
    out = a.process(packets[9:], 3.0)
    assert len(out) == 1  # packet 10 is the last the SA may carry
    assert a.ipsec_statistics(TUNNEL_INDEX)["discard_errors"] == 2


def test_pfe_byte_lifetime_counts_inbound_too():
    b = peer("b", lifetime_bytes=1000)
    sender = scapy_sa("a")
    inner = expected_forwarded(udp_packet(host("a", 4), host("b", 4), payload=b"z" * 200))
    b.process([(WAN, scapy_encrypt(sender, inner, seq_num=n)) for n in range(1, 5)], 1.0)
    events = [e for e in b.drain_events() if isinstance(e, RekeyRequest)]
    assert [e.reason for e in events] == ["bytes"]
