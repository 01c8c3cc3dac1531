"""The IKEv2 codec: every payload round-trips, and malformed input raises MalformedMessage only."""

from __future__ import annotations

import ipaddress
import random
import struct

import pytest

from netconf_device.ike import message as m


def _roundtrip(payloads: list[m.Payload]) -> m.Message:
    msg = m.Message(b"\x11" * 8, b"\x22" * 8, m.IKE_AUTH, m.FLAG_INITIATOR, 7, payloads)
    raw = msg.encode_plain()
    back = m.decode_message(raw)
    assert back.spi_i == b"\x11" * 8 and back.spi_r == b"\x22" * 8
    assert back.exchange == m.IKE_AUTH and back.msg_id == 7 and back.from_initiator and not back.is_response
    assert back.raw == raw
    # re-encoding what we decoded gives the same bytes
    again = m.Message(back.spi_i, back.spi_r, back.exchange, back.flags, back.msg_id, back.payloads).encode_plain()
    assert again == raw
    return back


def test_every_payload_roundtrips():
    v4a, v4b = ipaddress.ip_address("10.0.0.0"), ipaddress.ip_address("10.0.0.255")
    v6a, v6b = ipaddress.ip_address("2001:db8::"), ipaddress.ip_address("2001:db8::ffff")
    payloads = [
        m.SaPayload([
            m.Proposal(1, m.PROTO_IKE, b"", [m.Transform(m.TT_ENCR, m.ENCR_AES_CBC, 256),
                                             m.Transform(m.TT_PRF, m.PRF_HMAC_SHA2_256),
                                             m.Transform(m.TT_INTEG, m.INTEG_HMAC_SHA2_256_128),
                                             m.Transform(m.TT_DH, 19)]),
            m.Proposal(2, m.PROTO_ESP, b"\x01\x02\x03\x04", [m.Transform(m.TT_ENCR, m.ENCR_AES_GCM_16, 128),
                                                             m.Transform(m.TT_ESN, m.ESN_NO)]),
        ]),
        m.KePayload(19, bytes(range(64))),
        m.NoncePayload(b"n" * 32),
        m.IdPayload(m.PT_IDI, m.ID_FQDN, b"vpn.example.org"),
        m.IdPayload(m.PT_IDR, m.ID_IPV4_ADDR, bytes([192, 0, 2, 1])),
        m.CertPayload(m.CERT_X509_SIGNATURE, b"\x30\x82cert"),
        m.CertReqPayload(m.CERT_X509_SIGNATURE, b"\xaa" * 20),
        m.AuthPayload(m.AUTH_PSK, b"\x55" * 32),
        m.NotifyPayload(m.N_REKEY_SA, b"", m.PROTO_ESP, b"\xde\xad\xbe\xef"),
        m.NotifyPayload(m.N_NAT_DETECTION_SOURCE_IP, b"h" * 20),
        m.DeletePayload(m.PROTO_ESP, [b"\x00\x00\x01\x00", b"\xff\xff\xff\xff"]),
        m.DeletePayload(m.PROTO_IKE),
        m.VendorPayload(b"netconf-device"),
        m.TsPayload(m.PT_TSI, [m.TrafficSelector(m.TS_IPV4_ADDR_RANGE, 0, 0, 65535, v4a, v4b),
                               m.TrafficSelector(m.TS_IPV6_ADDR_RANGE, 17, 500, 500, v6a, v6b)]),
        m.TsPayload(m.PT_TSR, [m.TrafficSelector(m.TS_IPV4_ADDR_RANGE, 6, 80, 443, v4a, v4a)]),
        m.CpPayload(m.CFG_REQUEST, [(1, b""), (3, bytes(4))]),
    ]
    back = _roundtrip(payloads)
    assert [p.TYPE for p in back.payloads] == [p.TYPE for p in payloads]
    sa = back.get(m.PT_SA)
    assert sa.proposals[0].first(m.TT_ENCR).key_length == 256
    assert sa.proposals[1].spi == b"\x01\x02\x03\x04"
    assert back.get(m.PT_TSI).selectors[1].end == v6b
    assert back.notify(m.N_REKEY_SA).spi == b"\xde\xad\xbe\xef"
    assert back.get_all(m.PT_DELETE)[0].spis[1] == b"\xff\xff\xff\xff"
    assert back.get(m.PT_IDI).data == b"vpn.example.org"


def test_unknown_payloads_are_skipped_unless_critical():
    body = m.NoncePayload(b"x" * 16).encode_body()
    # an unknown non-critical payload (type 200) followed by a nonce
    data = struct.pack("!BBH", m.PT_NONCE, 0, 8) + b"abcd" + struct.pack("!BBH", 0, 0, 4 + len(body)) + body
    msg = m.Message(b"a" * 8, b"\0" * 8, m.IKE_SA_INIT, m.FLAG_INITIATOR, 0)
    raw = msg.header(28 + len(data), 200) + data
    back = m.decode_message(raw)
    assert back.payloads[0].TYPE == 200 and back.get(m.PT_NONCE) is not None
    crit = bytearray(raw)
    crit[28 + 1] = 0x80
    with pytest.raises(m.UnsupportedCriticalPayload) as exc:
        m.decode_message(bytes(crit))
    assert exc.value.payload_type == 200


def test_sk_payload_must_be_last_and_is_kept_opaque():
    msg = m.Message(b"a" * 8, b"b" * 8, m.INFORMATIONAL, 0, 3)
    body = b"\x00" * 40
    raw = msg.header(28 + 4 + len(body), m.PT_SK) + struct.pack("!BBH", m.PT_DELETE, 0, 4 + len(body)) + body
    back = m.decode_message(raw)
    assert back.encrypted is not None and back.encrypted.first_inner == m.PT_DELETE
    assert back.encrypted.offset == 28 and back.payloads == []
    bad = msg.header(28 + 4 + len(body) + 4, m.PT_SK) + struct.pack("!BBH", m.PT_NONE, 0, 4 + len(body)) + body + \
        b"tail"
    with pytest.raises(m.MalformedMessage):
        m.decode_message(bad)


@pytest.mark.parametrize("raw", [
    b"",
    b"\x00" * 27,
    m.Message(b"a" * 8, b"\0" * 8, m.IKE_SA_INIT, 8, 0).header(29, 0) + b"x",  # trailing byte, no payload
    m.Message(b"a" * 8, b"\0" * 8, m.IKE_SA_INIT, 8, 0).header(40, 0),  # length field larger than datagram
    bytes(m.Message(b"a" * 8, b"\0" * 8, m.IKE_SA_INIT, 8, 0).header(28, 0)[:17]) + b"\x10" + b"\0" * 10,  # v1
])
def test_malformed_headers(raw):
    with pytest.raises(m.MalformedMessage):
        m.decode_message(raw)


@pytest.mark.parametrize("ptype,body", [
    (m.PT_SA, b"\x00\x00\x00\x08\x01\x01\x00\x01"),  # proposal claims a transform that is not there
    (m.PT_SA, b"\x00\x00\x00\x07\x01\x01\x00\x00"),  # proposal length below minimum
    (m.PT_SA, b"\x00\x00\x00\x08\x01\x01\x05\x00"),  # SPI size 5
    (m.PT_SA, b"\x02\x00\x00\x08\x01\x01\x00\x00"),  # "more proposals" but none follows
    (m.PT_KE, b"\x00\x13\x00"),
    (m.PT_NONCE, b"short"),
    (m.PT_NONCE, b"x" * 257),
    (m.PT_IDI, b"\x01\x00\x00"),
    (m.PT_AUTH, b"\x02\x00\x00\x00"),
    (m.PT_NOTIFY, b"\x03\x04\x40"),
    (m.PT_NOTIFY, b"\x03\x08\x40\x09abc"),  # SPI longer than the payload
    (m.PT_DELETE, b"\x03\x04\x00\x02\x00\x00\x00\x01"),  # two SPIs announced, one present
    (m.PT_DELETE, b"\x03\x08\x00\x01" + b"\x00" * 8),  # ESP with 8-byte SPI
    (m.PT_TSI, b"\x00\x00\x00\x00"),  # zero selectors
    (m.PT_TSI, b"\x01\x00\x00\x00\x07\x00\x00\x10\x00\x00\xff\xff\x0a\x00\x00"),  # truncated address
    (m.PT_TSI, b"\x01\x00\x00\x00\x09\x00\x00\x10" + b"\x00" * 12),  # unknown TS type
    (m.PT_CP, b"\x01\x00\x00\x00\x00\x01\x00\x08ab"),  # attribute longer than payload
    (m.PT_SKF, b"\x00\x00\x00\x01" + b"\x00" * 20),  # fragment number 0
    (m.PT_SKF, b"\x00\x03\x00\x02" + b"\x00" * 20),  # number > total
])
def test_malformed_payload_bodies(ptype, body):
    msg = m.Message(b"a" * 8, b"b" * 8, m.IKE_AUTH, 8, 1)
    raw = msg.header(28 + 4 + len(body), ptype) + struct.pack("!BBH", 0, 0, 4 + len(body)) + body
    with pytest.raises(m.MalformedMessage):
        m.decode_message(raw)


def test_random_bytes_never_raise_anything_but_malformed():
    rng = random.Random(7)
    header = m.Message(b"a" * 8, b"b" * 8, m.IKE_AUTH, 8, 1)
    for _ in range(3000):
        body = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 120)))
        first = rng.choice([m.PT_SA, m.PT_KE, m.PT_IDI, m.PT_CERT, m.PT_AUTH, m.PT_NONCE, m.PT_NOTIFY,
                            m.PT_DELETE, m.PT_TSI, m.PT_CP, m.PT_SKF, m.PT_SK, rng.randrange(256)])
        raw = header.header(28 + len(body), first) + body
        try:
            m.decode_message(raw)
        except m.MalformedMessage:
            pass
