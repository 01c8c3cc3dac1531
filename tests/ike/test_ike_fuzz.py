"""Fuzzing the engine: mutated valid messages (plain and, with the real keys, authenticated-but-garbled),
random datagrams. Nothing may raise inside the engine and no state may grow without bound."""

from __future__ import annotations

import random
import struct
from dataclasses import replace

from ike_certs import Ca
from ike_harness import A_ADDR, B_ADDR, assert_tunnel_pairs, ike_proposal, make_intent, pair

from netconf_device import sa as contract
from netconf_device.ike import message as m
from netconf_device.ike.options import EngineOptions
from netconf_device.ike.tasks.child_rekey import ChildRekey
from netconf_device.ike.tasks.ike_dpd import IkeDpd

N_MUTATED = 10_000
N_RANDOM = 2_000
N_AUTHENTIC = 3_000


def _mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    choice = rng.randrange(9)
    if choice == 0 and b:  # flip bits
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
    elif choice == 1 and b:  # random bytes somewhere
        i = rng.randrange(len(b))
        b[i: i + rng.randint(1, 8)] = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 8)))
    elif choice == 2:  # truncate
        b = b[: rng.randrange(len(b) + 1)]
    elif choice == 3:  # extend
        b += bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 64)))
    elif choice == 4 and len(b) >= 28:  # header fields: exchange, flags, message ID, length
        field = rng.randrange(4)
        if field == 0:
            b[18] = rng.choice([34, 35, 36, 37, rng.randrange(256)])
        elif field == 1:
            b[19] = rng.getrandbits(8)
        elif field == 2:
            b[20:24] = struct.pack("!I", rng.choice([0, 1, 2, 3, 0xFFFFFFFF, rng.getrandbits(32)]))
        else:
            b[24:28] = struct.pack("!I", rng.choice([len(b), len(b) + 1, 0, 28, rng.getrandbits(32)]))
    elif choice == 5 and len(b) >= 32:  # a payload length field
        i = rng.randrange(28, len(b) - 3)
        b[i + 2: i + 4] = struct.pack("!H", rng.choice([0, 3, 4, 0xFFFF, rng.getrandbits(16)]))
        b[24:28] = struct.pack("!I", len(b))
    elif choice == 6 and len(b) >= 28:  # first payload type
        b[16] = rng.randrange(256)
    elif choice == 7 and len(b) >= 16:  # SPIs
        b[rng.randrange(16)] ^= 0xFF
    else:  # keep the header length consistent after random damage inside
        if len(b) > 28:
            i = rng.randrange(28, len(b))
            b[i] = rng.getrandbits(8)
    return bytes(b)


def _established_pair():
    ca = Ca("rsa")
    la, _ = ca.issue(str(A_ADDR), "rsa")
    lb, _ = ca.issue(str(B_ADDR), "ecdsa")
    a = make_intent(A_ADDR, B_ADDR, psk=None, ike=ike_proposal(method="rsa-signatures"), cert=la, ca_pem=ca.pem,
                    pfs="group19")
    b = make_intent(B_ADDR, A_ADDR, psk=None, ike=ike_proposal(method="ecdsa-signatures-256"), cert=lb,
                    ca_pem=ca.pem, pfs="group19", establish="responder-only")
    opts = dict(cookie_threshold=50, half_open_timeout=30.0)
    net, ea, eb = pair(a, b, a_opts=EngineOptions(device_name="a", random_seed=1, **opts),
                       b_opts=EngineOptions(device_name="b", random_seed=2, **opts))
    assert_tunnel_pairs(net)
    sa = next(iter(ea.sas.values()))
    ea._queue(sa, ChildRekey(ea, sa.children[0]))
    net.settle()
    ea._queue(sa, IkeDpd(ea))
    net.settle()
    return net, ea, eb


def _state_size(eng) -> dict:
    return {"sas": len(eng.sas), "half_open": len(eng._half_open), "timers": len(eng._timers),
            "children": len(eng._children), "reserved": len(eng._reserved_spis),
            "reassembly": sum(len(s.reassembly) for s in eng.sas.values()),
            "queue": sum(len(s.queue) for s in eng.sas.values())}


def test_fuzz_mutated_and_random_datagrams():
    net, ea, eb = _established_pair()
    corpus = [d for _t, _n, d in net.log]
    assert len(corpus) >= 8
    rng = random.Random(20260601)
    engines = {A_ADDR: ea, B_ADDR: eb}
    for i in range(N_MUTATED + N_RANDOM):
        if i < N_MUTATED:
            d = rng.choice(corpus)
            d = replace(d, payload=_mutate(rng, d.payload))
        else:
            src = rng.choice([A_ADDR, B_ADDR])
            payload = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 200)))
            if rng.random() < 0.5 and len(payload) >= 28:  # a plausible header in front of junk
                hdr = m.Message(payload[:8], payload[8:16], rng.choice([34, 35, 36, 37]), rng.getrandbits(8),
                                rng.randrange(4)).header(len(payload), rng.randrange(256))
                payload = hdr + payload[28:]
            d = contract.IkeDatagram(src=src, dst=B_ADDR if src == A_ADDR else A_ADDR, sport=500, dport=500,
                                     payload=payload)
        engines[d.dst].receive_datagram(d, net.now)
        if i % 500 == 0:
            # let the engines answer and run their timers now and then; drop what they send
            for eng in (ea, eb):
                eng.datagrams_to_send()
                while eng.next_event() is not None:
                    pass
                net.now += 0.5
                eng.handle_timer(net.now)
    for eng in (ea, eb):
        assert eng.stats["internal_errors"] == 0
        size = _state_size(eng)
        assert size["half_open"] <= eng.options.cookie_threshold + 1, size
        assert size["sas"] <= eng.options.cookie_threshold + 5, size
        assert size["reassembly"] <= 2 * size["sas"], size
        assert size["timers"] < 10 * (size["sas"] + 10), size
    # half-open SAs created by fuzzed IKE_SA_INITs expire
    net.filter = lambda sender, d: [d]
    net.advance(120)
    for eng in (ea, eb):
        assert len(eng._half_open) == 0
        assert eng.stats["internal_errors"] == 0


def _psk_pair():
    a = make_intent(A_ADDR, B_ADDR, pfs="group19")
    b = make_intent(B_ADDR, A_ADDR, pfs="group19", establish="responder-only")
    net, ea, eb = pair(a, b)
    assert_tunnel_pairs(net)
    return net, ea, eb


def test_fuzz_authenticated_garbage_inside_sk():
    """Garbled payload chains encrypted with the real keys reach the inner parser and the tasks."""
    rng = random.Random(99)
    templates = [
        [m.NotifyPayload(m.N_REKEY_SA, b"", m.PROTO_ESP, b"\x00\x00\x00\x01"), m.NoncePayload(b"n" * 32)],
        [m.DeletePayload(m.PROTO_ESP, [b"\x01\x02\x03\x04"])],
        [m.SaPayload([m.Proposal(1, m.PROTO_IKE, b"12345678", [m.Transform(m.TT_ENCR, m.ENCR_AES_CBC, 256)])]),
         m.NoncePayload(b"x" * 32), m.KePayload(19, b"k" * 64)],
        [m.SaPayload([m.Proposal(1, m.PROTO_ESP, b"1234", [m.Transform(m.TT_ENCR, m.ENCR_AES_GCM_16, 256)])]),
         m.NoncePayload(b"x" * 32), m.TsPayload(m.PT_TSI, []), m.TsPayload(m.PT_TSR, [])],
        [m.NotifyPayload(m.N_INVALID_SPI, b"\x00\x00\x00\x09", m.PROTO_ESP), m.VendorPayload(b"v")],
        [m.CpPayload(m.CFG_REQUEST, [(1, b"")])],
    ]
    sent = rebuilt = 0
    errors = rejected = 0
    net = ea = eb = None
    while sent < N_AUTHENTIC:
        if ea is None or not any(s.state == "ESTABLISHED" for s in ea.sas.values()):
            if ea is not None:
                errors += ea.stats["internal_errors"] + eb.stats["internal_errors"]
                rejected += eb.stats["invalid_syntax_sent"]
            net, ea, eb = _psk_pair()
            rebuilt += 1
            assert rebuilt < 200
        sa_a = next(s for s in ea.sas.values() if s.state == "ESTABLISHED")
        sa_b = next((s for s in eb.sas.values() if s.spi_i == sa_a.spi_i), None)
        if sa_b is None:
            ea = None
            continue
        first, inner = m.encode_chain(rng.choice(templates))
        if rng.random() < 0.8:
            inner = _mutate(rng, inner)
            first = rng.choice([first, rng.randrange(256)])
        exchange = rng.choice([m.INFORMATIONAL, m.CREATE_CHILD_SA])
        msg = m.Message(sa_a.spi_i, sa_a.spi_r, exchange, sa_a.flags(False), sa_b.peer_next_id)
        body_len = sa_a.sk_out.sealed_length(len(inner))
        hdr = msg.header(28 + 4 + body_len, m.PT_SK)
        aad = hdr + struct.pack("!BBH", first, 0, 4 + body_len)
        body, icv = sa_a.sk_out.seal(aad, inner)
        eb.receive_datagram(contract.IkeDatagram(A_ADDR, B_ADDR, 500, 500, aad + body + icv), net.now)
        sent += 1
        net.settle()  # let A see B's answers (and B's own follow-up requests)
        if sent % 300 == 0:
            net.advance(1)
        size = _state_size(eb)
        assert size["children"] <= 20 and size["queue"] <= 20 and size["sas"] <= 5, size
    errors += ea.stats["internal_errors"] + eb.stats["internal_errors"]
    rejected += eb.stats["invalid_syntax_sent"]
    assert errors == 0
    assert rejected > N_AUTHENTIC // 10  # many reached the inner parser and were answered INVALID_SYNTAX
