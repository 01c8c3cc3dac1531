"""The C fast path (``netconf_device/pfe/_espfast.c``) at its edges: truncated, oversized and malformed
outer headers, UDP headers, authenticated plaintexts with every kind of bad trailer or inner header, inner
packets on the way into the tunnel, and anti-replay windows from 0 to 65536 bits.

Each case runs through three datapaths that must agree: the C fast path, the Python fast path (same
order, byte for byte) and the general per-packet path (the reference; same packets, order aside). The
state after the batch (counters, events, sequence numbers, replay windows) must be identical."""

from __future__ import annotations

import ipaddress
import random
import struct

import pytest
from pfe_testlib import (
    LAN,
    SPI_A_TO_B,
    WAN,
    child_sa,
    esp_trailer,
    expected_forwarded,
    forge_esp,
    host,
    make_intent,
    needs_c_fast_path,
    peer,
    scapy_decrypt,
    scapy_encrypt,
    scapy_sa,
    udp_packet,
)

from netconf_device.config.intent import StaticRoute
from netconf_device.pfe import fastpath, ip
from netconf_device.sa import ChildSaDeleted, ChildSaInstalled, UdpEncap

pytestmark = needs_c_fast_path

NAT_T = UdpEncap("nat-t", 4500, 4500)


def _state(dp) -> tuple:
    usage = {spi: dp.sa_usage(spi) for spi in dp.sad.pairs}
    windows = {spi: (sa.replay.top, sa.replay.bitmap) for spi, sa in dp.sad.inbound.items()}
    return dp.ipsec_statistics(), dp.interface_statistics(), dp.drain_events(), usage, windows


def _agree(side: str, batches: list[list], oracle=None, **kwargs) -> tuple[list, int]:
    """Run ``batches`` through C, Python and the general path; returns the C output (all batches) and how
    many packets the C loops completed themselves.

    With an ``oracle`` (the scapy SA of ``side``'s outbound direction) ESP leaving the WAN is compared with
    the general path's after decryption: the general path numbers the packets it takes in its own order."""
    c = peer(side, fast_path_impl="c", **kwargs)
    python = peer(side, fast_path_impl="python", **kwargs)
    general = peer(side, fast_path=False, **kwargs)

    def comparable(packets):
        if oracle is None:
            return sorted(packets)
        return sorted((egress, scapy_decrypt(oracle, p) if egress == WAN and p[9] in (ip.PROTO_ESP, ip.PROTO_UDP)
                       else p) for egress, p in packets)

    produced = []
    for number, batch in enumerate(batches):
        out_c = c.process(batch, float(number))
        assert out_c == python.process(batch, float(number))
        assert comparable(out_c) == comparable(general.process(batch, float(number)))
        produced += out_c
        assert _state(c) == _state(python) == _state(general)
    assert c.fast.packets == python.fast.packets
    return produced, c.fast.packets


def _fix_ipv4(packet: bytes | bytearray, *, total: int | None = None) -> bytes:
    """Rewrite the IPv4 total length (default: the real length) and header checksum."""
    data = bytearray(packet)
    ihl = (data[0] & 0x0F) * 4
    data[2:4] = struct.pack("!H", len(data) if total is None else total)
    data[10:12] = b"\0\0"
    data[10:12] = struct.pack("!H", ip.checksum(bytes(data[:ihl])))
    return bytes(data)


def _inner(n: int = 64, **kwargs) -> bytes:
    """An IPv4/UDP packet from behind a to behind b as it enters b's tunnel end (TTL already 63)."""
    return expected_forwarded(udp_packet(host("a", 4), host("b", 4), payload=bytes(n), **kwargs))


# --------------------------------------------------------------------------- outer headers (decapsulation)
@pytest.mark.parametrize("kwargs", ({}, {"encap": NAT_T}), ids=("esp", "esp-in-udp"))
def test_pfe_cfast_truncated_outer_packets(kwargs):
    nat_t = (4500, 4500) if kwargs else None
    valid = scapy_encrypt(scapy_sa("a", nat_t=nat_t), _inner(), seq_num=5)
    # Every prefix, as received (length field now wrong) and with the IPv4 header made consistent again.
    truncated = [(WAN, valid[:n]) for n in range(len(valid))]
    fixed = [(WAN, _fix_ipv4(valid[:n])) for n in range(20, len(valid))]
    assert _agree("b", [truncated, fixed, [(WAN, valid)]], **kwargs)[1] == 1


@pytest.mark.parametrize("kwargs", ({}, {"encap": NAT_T}), ids=("esp", "esp-in-udp"))
def test_pfe_cfast_malformed_outer_headers(kwargs):
    nat_t = (4500, 4500) if kwargs else None
    sender = scapy_sa("a", nat_t=nat_t)
    valid = [scapy_encrypt(sender, _inner(n), seq_num=n + 1) for n in range(40)]
    cases = []
    for n, packet in enumerate(valid):
        data = bytearray(packet)
        variant = n % 10
        if variant == 0:
            data[11] ^= 0xFF  # header checksum
        elif variant == 1:
            data = bytearray(_fix_ipv4(data, total=len(data) + 4))  # claims more than arrived
        elif variant == 2:
            data = bytearray(_fix_ipv4(data + b"\0" * 4, total=len(data)))  # trailing bytes after the packet
        elif variant == 3:
            data[6] |= 0x20  # more fragments
            data = bytearray(_fix_ipv4(data))
        elif variant == 4:
            data[6:8] = b"\x00\x10"  # a fragment offset
            data = bytearray(_fix_ipv4(data))
        elif variant == 5:
            data = bytearray(_fix_ipv4(data[:-1]))  # ciphertext not 4-byte aligned
        elif variant == 6:
            data[0] = 0x46  # options: not for the fast path
            data = bytearray(_fix_ipv4(bytes(data[:20]) + b"\x01\x01\x01\x00" + bytes(data[20:])))
        elif variant == 7:
            data[-20] ^= 0x80  # ciphertext: ICV fails
        elif variant == 8:
            data[1] |= 3  # CE: ECN propagation on the general path
            data = bytearray(_fix_ipv4(data))
        # variant 9: untouched
        cases.append((WAN, bytes(data)))
    cases += cases[:10]  # replays of whatever was accepted
    assert _agree("b", [cases], **kwargs)[1] == 4  # the untouched ones (variant 9)


def test_pfe_cfast_spi_and_encapsulation_mismatches():
    inner = _inner()
    plain = scapy_encrypt(scapy_sa("a"), inner, seq_num=1)
    in_udp = scapy_encrypt(scapy_sa("a", nat_t=(4500, 4500)), inner, seq_num=2)
    unknown = bytearray(plain)
    unknown[20:24] = b"\x12\x34\x56\x78"
    # Plain ESP to a NAT-T SA, ESP-in-UDP to a plain SA, an unknown SPI.
    _agree("b", [[(WAN, plain), (WAN, in_udp), (WAN, bytes(unknown))]])
    _agree("b", [[(WAN, plain), (WAN, in_udp), (WAN, bytes(unknown))]], encap=NAT_T)


def _udp_variant(packet: bytes, *, dport: int | None = None, udp_length: int | None = None) -> bytes:
    data = bytearray(packet)
    if dport is not None:
        data[22:24] = struct.pack("!H", dport)
    if udp_length is not None:
        data[24:26] = struct.pack("!H", udp_length)
    return _fix_ipv4(data)


@pytest.mark.parametrize("port", (4500, 500, 5000))
def test_pfe_cfast_udp_headers(port):
    kwargs = {"encap": UdpEncap("nat-t", port, port)}
    inner = _inner()
    valid = [forge_esp("a", inner + esp_trailer(len(inner)), seq, udp=(port, port)) for seq in range(1, 9)]
    ike_like = bytearray(valid[7])
    ike_like[45] = 0x20  # where an IKE header carries its version: on port 500 the general path decides
    cases = [
        (WAN, valid[0]),
        (WAN, _udp_variant(valid[1], dport=port + 1)),
        (WAN, _udp_variant(valid[2], udp_length=len(valid[2]) - 20 + 4)),
        (WAN, _udp_variant(valid[3], udp_length=7)),
        (WAN, _udp_variant(valid[4][:36])),  # the shortest the fast path looks at
        (WAN, _udp_variant(valid[5][:28] + b"\xff")),  # NAT keepalive
        (WAN, _udp_variant(valid[6][:28] + bytes(4) + b"ike")),  # non-ESP marker
        (WAN, bytes(ike_like)),
    ]
    assert _agree("b", [cases], **kwargs)[1] == 1


def test_pfe_cfast_port_500_ike_header_with_an_esp_spi():
    """On port 500 a datagram that starts with an encapsulating SA's SPI but has an IKE header's version
    and length is IKE (handed to the IKE daemon), never decrypted."""
    kwargs = {"encap": UdpEncap("nat-t", 500, 500)}
    inner = _inner(40)
    esp = bytearray(forge_esp("a", inner + esp_trailer(len(inner)), 1, udp=(500, 500)))
    payload_length = len(esp) - 28
    esp[28 + 17] = 0x20  # IKEv2 version
    esp[28 + 24:28 + 28] = struct.pack("!I", payload_length)
    ike = _fix_ipv4(esp)
    b = peer("b", fast_path_impl="c", **kwargs)
    _agree("b", [[(WAN, ike)]], **kwargs)
    b.process([(WAN, ike)], 1.0)
    assert [type(e).__name__ for e in b.drain_events()] == ["IkeDatagram"]
    assert b.ipsec_statistics()["esp_authentication_failures"] == 0


@pytest.mark.parametrize("spare", (-1, 0, 1, 2, 50))
def test_pfe_cfast_sequence_soft_limit_boundary(spare):
    """A batch that would take the counter to the rekey threshold goes to the general path (which asks
    for the rekey); one that stays below it is encrypted by the fast loop."""
    count = 20
    batch = [(LAN, udp_packet(host("a", 4), host("b", 4))) for _ in range(count)]
    peers = [peer("a", fast_path_impl=impl) for impl in ("c", "python")] + [peer("a", fast_path=False)]
    for dp in peers:
        sa = next(iter(dp.sad.pairs.values())).outbound
        sa.seq = sa.seq_soft - count - spare
    outputs = [dp.process(batch, 1.0) for dp in peers]
    assert outputs[0] == outputs[1] == outputs[2]
    states = [_state(dp) for dp in peers]
    assert states[0] == states[1] == states[2]
    rekeys = [e for e in states[0][2] if type(e).__name__ == "RekeyRequest"]
    assert len(rekeys) == (1 if spare <= 0 else 0)
    assert peers[0].fast.packets == (0 if spare <= 0 else count)


def test_pfe_cfast_oversized_packets():
    big = _inner(65535 - 28 - 60)  # the largest IPv4 packet whose ESP still fits in 65535 bytes
    padded = big + esp_trailer(len(big))
    esp = forge_esp("a", padded, 1)
    assert len(esp) <= 65535
    df_big = _inner(3000, df=True)
    wire = [(WAN, esp), (WAN, forge_esp("a", df_big + esp_trailer(len(df_big)), 2))]
    produced, _ = _agree("b", [wire])
    assert produced and all(len(p) <= 1500 for _, p in produced)  # fragmented (or ICMP) on the LAN


# --------------------------------------------------------------------------- authenticated plaintexts
def _plaintexts() -> list[bytes]:
    """Decrypted payloads with every kind of trailer and inner-header problem (and some valid ones)."""
    inner = _inner(61)
    inner6 = expected_forwarded(udp_packet(host("a", 6), host("b", 6), payload=b"six"))
    good = inner + esp_trailer(len(inner))
    cases = [
        good,
        inner + b"\0" * 9 + esp_trailer(len(inner) + 9),  # TFC padding between packet and padding
        inner6 + esp_trailer(len(inner6), 41),  # IPv6 inside
        inner6 + esp_trailer(len(inner6), 4),  # IPv6 announced as IPv4
        inner + esp_trailer(len(inner), 41),  # IPv4 announced as IPv6
        inner + esp_trailer(len(inner), 59),  # TFC dummy packet
        inner + esp_trailer(len(inner), 99),  # unknown next header
        inner + esp_trailer(len(inner), 0),
        inner + bytes((1, 2, 4, 3, 4)),  # wrong padding bytes
        inner + bytes((255, 4)) + bytes(3),  # pad length beyond the plaintext
        bytes((255, 4)) * 11,  # shortest plaintext the fast path reads (22 bytes)
        bytes(20) + bytes((0, 4)),
        good[:20] + bytes((0, 4)),  # header only, total length says more
    ]
    for total in (0, 19, 20, len(inner) + 1, 0xFFFF):
        cases.append(inner[:2] + struct.pack("!H", total) + inner[4:] + esp_trailer(len(inner)))
    for first in (0x44, 0x46, 0x4F, 0x65, 0x00):
        data = bytes((first,)) + inner[1:]
        cases.append(data + esp_trailer(len(data)))
    for ttl in (0, 1, 2):
        data = _fix_ipv4(inner[:8] + bytes((ttl,)) + inner[9:], total=len(inner))
        cases.append(data + esp_trailer(len(data)))
    bad_checksum = bytearray(inner)
    bad_checksum[11] ^= 1
    cases.append(bytes(bad_checksum) + esp_trailer(len(inner)))
    for dst in ("1.1.1.1", "2.2.2.1", "10.255.0.2", "224.0.0.1", "9.9.9.9", "2.2.2.2"):
        data = expected_forwarded(udp_packet(host("a", 4), dst, payload=b"to " + dst.encode()))
        cases.append(data + esp_trailer(len(data)))
    for tos in (1, 2, 3):
        data = _inner(20, tos=tos)
        cases.append(data + esp_trailer(len(data)))
    return [c for c in cases if len(c) % 4 == 0] + [c + esp_trailer(len(c) + 2)[:-2] for c in cases
                                                    if len(c) % 4 and len(c) > 22]


@pytest.mark.parametrize("kwargs", ({}, {"encap": NAT_T}, {"esn": True, "intent_kwargs": {"esn": True}}),
                         ids=("esp", "esp-in-udp", "esn"))
def test_pfe_cfast_authenticated_plaintexts(kwargs):
    esn = "esn" in kwargs
    udp = (4500, 4500) if "encap" in kwargs else None
    start = (1 << 32) - 5 if esn else 1
    plaintexts = _plaintexts()
    wire = [(WAN, forge_esp("a", plaintext, start + n, esn=esn, udp=udp)) for n, plaintext in enumerate(plaintexts)]
    # The default route towards the LAN lets transit destinations take the fast forward.
    routes = (StaticRoute(ipaddress.ip_network("0.0.0.0/0"), ("2.2.2.9",)),)
    intent = dict(kwargs.get("intent_kwargs", {}), extra_routes=routes)
    produced, fast = _agree("b", [wire, wire[:5]], **dict(kwargs, intent_kwargs=intent))
    assert len(produced) >= 10 and fast >= 6


# --------------------------------------------------------------------------- inner packets (encapsulation)
@pytest.mark.parametrize("kwargs", ({}, {"encap": NAT_T}, {"esn": True, "intent_kwargs": {"esn": True}},
                                    {"intent_kwargs": {"tunnel_mtu": 576, "df_bit": "set"}}),
                         ids=("esp", "nat-t", "esn", "mtu-576-df-set"))
def test_pfe_cfast_malformed_inner_packets(kwargs):
    base = udp_packet(host("a", 4), host("b", 4), payload=bytes(100))
    cases = [base, base[:20], _fix_ipv4(base[:20]), _fix_ipv4(base[:21]), _fix_ipv4(base[:27])]
    cases += [_fix_ipv4(base, total=len(base) + 1), _fix_ipv4(base + b"\0", total=len(base)),
              _fix_ipv4(base, total=19)]
    bad = bytearray(base)
    bad[10] ^= 0xFF
    cases.append(bytes(bad))
    for ttl in (0, 1, 2, 255):
        cases.append(_fix_ipv4(base[:8] + bytes((ttl,)) + base[9:]))
    cases.append(_fix_ipv4(bytes((0x46,)) + base[1:20] + b"\x01\x01\x01\x00" + base[20:]))
    for size in (1400, 1418, 1419, 1420, 1500, 9000, 65535):
        for df in (False, True):
            cases.append(udp_packet(host("a", 4), host("b", 4), payload=bytes(size - 28), df=df))
    oracle = scapy_sa("a", esn="esn" in kwargs, nat_t=(4500, 4500) if "encap" in kwargs else None)
    produced, fast = _agree("a", [[(LAN, c) for c in cases]], oracle=oracle, **kwargs)
    assert any(len(p) > 500 for _, p in produced) and fast >= 5


# --------------------------------------------------------------------------- anti-replay windows
@pytest.mark.parametrize("window", (0, 1, 63, 64, 65, 128, 1000, 4096, 65536))
@pytest.mark.parametrize("esn", (False, True), ids=("seq32", "esn"))
def test_pfe_cfast_replay_windows_match_python(window, esn):
    """Random sequence numbers around the window: multi-word bitmaps shift and test like Python's int."""
    rng = random.Random(window * 2 + esn)
    kwargs = {"intent_kwargs": {"anti_replay_window": window, "esn": esn}, "esn": esn}
    inner = _inner(10)
    plaintext = inner + esp_trailer(len(inner))
    base = (1 << 32) - 3000 if esn else 1
    span = max(window, 64)
    top = base
    batches = []
    for _ in range(6):
        batch = []
        for _ in range(40):
            choice = rng.random()
            if choice < 0.4:
                top += rng.randint(1, 3)
                seq = top
            elif choice < 0.7:
                seq = max(1, top - rng.randint(0, span + 2))
            elif choice < 0.8:
                top += rng.randint(span - 2, span + 2)
                seq = top
            else:
                seq = max(1, top - rng.randint(0, 3 * span))
            batch.append((WAN, forge_esp("a", plaintext, seq, esn=esn)))
        batches.append(batch)
    assert _agree("b", batches, **kwargs)[1] > 40


def test_pfe_cfast_replay_window_bits_survive_between_batches():
    """The bitmap goes back into the Python ReplayWindow after every batch (the general path reads it)."""
    b = peer("b", fast_path_impl="c", intent_kwargs={"anti_replay_window": 4096})
    inner = _inner(10)
    plaintext = inner + esp_trailer(len(inner))
    b.process([(WAN, forge_esp("a", plaintext, seq)) for seq in (5000, 1000, 4999, 905)], 1.0)
    window = b.sad.inbound[SPI_A_TO_B].replay
    assert window.top == 5000
    assert window.bitmap == (1 << 0) | (1 << 4000) | (1 << 1) | (1 << 4095)


# --------------------------------------------------------------------------- the C objects themselves
def test_pfe_cfast_rejects_bad_parameters_and_items():
    from netconf_device.pfe import _espfast

    dp = peer("a", fast_path_impl="c")
    sa = next(iter(dp.sad.pairs.values())).outbound
    counters = sa.counters
    good = dict(encrypt_into=sa.aead.encrypt_into, sa=sa, egress="et-0/2/10", st0=counters, tunnel=counters, seq_soft=9,
                wan=counters, spi=1, salt=b"salt", esn=False, max_inner=1400, df_mode=0, sport=0, dport=0,
                local=bytes(4), remote=bytes(4))
    _espfast.Encap(**good)
    for bad in ({"salt": b"abc"}, {"local": bytes(16)}, {"df_mode": 3}, {"spi": 1 << 32}, {"sport": 70000},
                {"encrypt_into": None}):
        with pytest.raises((ValueError, TypeError)):
            _espfast.Encap(**dict(good, **bad))
    inbound = next(iter(dp.sad.pairs.values())).inbound
    good = dict(decrypt_into=inbound.aead.decrypt_into, sa=inbound, replay=inbound.replay, tunnel=counters,
                st0=counters, spi=1, salt=b"salt", esn=False, window=64, udp_port=-1)
    _espfast.Decap(**good)
    for bad in ({"window": 65537}, {"window": -1}, {"udp_port": 65536}, {"salt": b""}):
        with pytest.raises(ValueError):
            _espfast.Decap(**dict(good, **bad))
    for items in ([("et-0/1/8", b"x", 1)], [b"not a tuple"], [None]):
        with pytest.raises(TypeError):
            dp.process(items, 1.0)
    with pytest.raises(TypeError):
        _espfast.run(dp.fast, dp, [], 1.0, [], [])
    # Packets that are not bytes are left to the general path untouched.
    assert dp.fast.packets == 0


# --------------------------------------------------------------------------- cached decisions
def _run_steps(steps, **kwargs) -> list:
    """Steps are batches (processed) or callables (applied to each datapath); all three must agree."""
    peers = [peer("a", fast_path_impl="c", **kwargs), peer("a", fast_path_impl="python", **kwargs),
             peer("a", fast_path=False, **kwargs)]
    produced = []
    for number, step in enumerate(steps):
        if callable(step):
            for dp in peers:
                step(dp)
            continue
        outputs = [dp.process(step, float(number)) for dp in peers]
        assert outputs[0] == outputs[1]
        assert sorted(outputs[0]) == sorted(outputs[2])
        states = [_state(dp) for dp in peers]
        assert states[0] == states[1] == states[2]
        produced.append(outputs[0])
    return produced


def _to_hosts(count: int) -> list:
    return [(LAN, udp_packet(host("a", 4), host("b", 4, n), payload=bytes(n))) for n in range(2, 2 + count)]


def test_pfe_cfast_decisions_follow_reconfiguration():
    batch = _to_hosts(30)
    rerouted = make_intent("a", extra_routes=(StaticRoute(ipaddress.ip_network("2.2.2.0/26"), ("1.1.1.9",)),))
    out = _run_steps([batch, lambda dp: dp.apply_intent(rerouted), batch,
                      lambda dp: dp.apply_intent(make_intent("a")), batch])
    egresses = [[egress for egress, _ in step] for step in out]
    assert egresses[0] == egresses[2] == [WAN] * 30
    assert egresses[1] == [LAN] * 30  # 2.2.2.2 .. 2.2.2.31 now leave through the LAN


def test_pfe_cfast_decisions_follow_rekey_and_delete():
    batch = _to_hosts(10)

    def rekey(dp):
        dp.install(ChildSaInstalled(child_sa("a", spi_offset=1)))

    def delete_new(dp):
        new = child_sa("a", spi_offset=1)
        dp.delete(ChildSaDeleted(new.tunnel_index, new.spi_in, new.spi_out))

    out = _run_steps([batch, rekey, batch, delete_new, batch])
    spis = [{p[20:24] for _, p in step} for step in out]
    assert spis[1] == {(SPI_A_TO_B + 1).to_bytes(4, "big")}
    assert spis[2] == spis[0] == {SPI_A_TO_B.to_bytes(4, "big")}


def test_pfe_cfast_decisions_survive_the_cache_limit(monkeypatch):
    monkeypatch.setattr(fastpath, "CACHE_LIMIT", 4)
    routes = (StaticRoute(ipaddress.ip_network("0.0.0.0/0"), ("1.1.1.9",)),)
    inner = [expected_forwarded(udp_packet(host("b", 4), f"1.1.1.{n}", payload=bytes(n))) for n in range(2, 40)]
    inner += [expected_forwarded(udp_packet(host("b", 4), f"9.9.{n}.1")) for n in range(20)]
    wire = [(WAN, forge_esp("b", p + esp_trailer(len(p)), seq)) for seq, p in enumerate(inner, 1)]
    steps = [_to_hosts(40), wire, _to_hosts(40)]
    out = _run_steps(steps, intent_kwargs={"extra_routes": routes})
    assert len(out[1]) == len(inner)
