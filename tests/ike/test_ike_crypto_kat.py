"""Known-answer tests for the IKE crypto: D-H groups (RFC 5903, RFC 5114, RFC 7748), HMAC PRF and integrity
(RFC 4868, RFC 2202), prf+/SKEYSEED (NIST CAVP IKEv2 KDF), and SK payload sealing for every cipher."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from ike_vectors import HMAC, NIST_IKEV2_SHA256, RFC5114_DH, RFC5903, X25519

from netconf_device.ike import crypto, dh
from netconf_device.ike import message as m
from netconf_device.ike.crypto import CryptoError, Integrity, Prf, SkCipher

_PRF_IDS = {"md5": m.PRF_HMAC_MD5, "sha1": m.PRF_HMAC_SHA1, "sha256": m.PRF_HMAC_SHA2_256,
            "sha384": m.PRF_HMAC_SHA2_384, "sha512": m.PRF_HMAC_SHA2_512}
_CURVES = {19: ec.SECP256R1, 20: ec.SECP384R1, 21: ec.SECP521R1}


def _ecp_keyexchange(group: int, private_hex: str) -> dh.KeyExchange:
    key = ec.derive_private_key(int(private_hex, 16), _CURVES[group]())
    return dh.KeyExchange(group, key)


@pytest.mark.parametrize("group", [19, 20, 21])
def test_rfc5903_ecdh(group):
    v = RFC5903[group]
    ke = _ecp_keyexchange(group, v["i"])
    ker = _ecp_keyexchange(group, v["r"])
    if "gi" in v:
        assert ke.public.hex() == v["gi"]  # the KE payload data is x | y
        assert ke.shared_secret(bytes.fromhex(v["gr"])).hex() == v["girx"]  # the secret is the x coordinate
        assert ker.public.hex() == v["gr"]
    assert ke.shared_secret(ker.public).hex() == v["girx"]
    assert ker.shared_secret(ke.public).hex() == v["girx"]


@pytest.mark.parametrize("group", [19, 20, 21])
def test_rfc5114_ecdh(group):
    v = RFC5114_DH[group]
    size = dh.ECP_CURVES[group][1]
    seed = bytes.fromhex(v["seed"])
    ki = _ecp_keyexchange(group, seed[:size].hex())
    kr = _ecp_keyexchange(group, seed[size:].hex())
    assert ki.public.hex() == v["pub_i"] and kr.public.hex() == v["pub_r"]
    assert ki.shared_secret(kr.public).hex() == v["shared"]
    assert kr.shared_secret(ki.public).hex() == v["shared"]


def test_rfc5114_modp_group24():
    v = RFC5114_DH[24]
    seed = bytes.fromhex(v["seed"])
    half = len(seed) // 2
    ki = dh.KeyExchange(24, dh.modp_private_key(24, int.from_bytes(seed[:half], "big")))
    kr = dh.KeyExchange(24, dh.modp_private_key(24, int.from_bytes(seed[half:], "big")))
    assert ki.public.hex() == v["pub_i"] and kr.public.hex() == v["pub_r"]
    assert ki.shared_secret(kr.public).hex() == v["shared"]


@pytest.mark.parametrize("vector", X25519, ids=["rfc7748-alice-bob", "rfc8031"])
def test_x25519(vector):
    seed = bytes.fromhex(vector["seed"])
    ki = dh.KeyExchange(31, x25519.X25519PrivateKey.from_private_bytes(seed[:32]))
    kr = dh.KeyExchange(31, x25519.X25519PrivateKey.from_private_bytes(seed[32:]))
    assert ki.public.hex() == vector["pub_i"] and kr.public.hex() == vector["pub_r"]
    assert ki.shared_secret(kr.public).hex() == vector["shared"]


@pytest.mark.parametrize("group", dh.SUPPORTED_GROUPS)
def test_every_group_agrees_and_validates(group):
    a, b = dh.KeyExchange(group), dh.KeyExchange(group)
    assert len(a.public) == dh.public_length(group)
    assert a.shared_secret(b.public) == b.shared_secret(a.public)
    bad = [b"", a.public[:-1]]
    if group in dh.MODP_PARAMS:
        p = dh.MODP_PARAMS[group].p
        n = dh.public_length(group)
        bad += [(1).to_bytes(n, "big"), (p - 1).to_bytes(n, "big"), p.to_bytes(n, "big")]
    elif group in dh.ECP_CURVES:
        bad.append(b"\x01" * len(a.public))  # not on the curve
    else:
        bad.append(b"\x00" * 32)  # low-order point: all-zero shared secret
    for value in bad:
        with pytest.raises(dh.KeyExchangeError):
            a.shared_secret(value)


def test_group24_rejects_values_outside_the_subgroup():
    a = dh.KeyExchange(24)
    p = dh.MODP_PARAMS[24].p
    with pytest.raises(dh.KeyExchangeError):
        a.shared_secret((p - 2).to_bytes(256, "big"))  # not of order q


@pytest.mark.parametrize("alg,key,data,expect", HMAC)
def test_hmac_prf_and_integrity(alg, key, data, expect):
    kind, which = alg.split(":")
    if kind == "prf":
        prf = Prf(_PRF_IDS[which])
        assert prf(bytes.fromhex(key), bytes.fromhex(data)).hex() == expect
    else:
        integ = Integrity(int(which))
        assert integ.icv(bytes.fromhex(key), bytes.fromhex(data)).hex() == expect


def test_nist_ikev2_kdf_skeyseed_prf_plus_and_rekey():
    v = {k: bytes.fromhex(x) for k, x in NIST_IKEV2_SHA256.items()}
    prf = Prf(m.PRF_HMAC_SHA2_256)
    seed = crypto.skeyseed(prf, v["ni"], v["nr"], v["gir"])
    assert seed == v["skeyseed"]
    dkm = prf.plus(seed, v["ni"] + v["nr"] + v["spi_i"] + v["spi_r"], len(v["dkm"]))
    assert dkm == v["dkm"]
    # shorter outputs are prefixes (the vector's 32- and 15-byte variants)
    assert prf.plus(seed, v["ni"] + v["nr"] + v["spi_i"] + v["spi_r"], 15) == v["dkm"][:15]
    sk_d = dkm[:32]
    assert crypto.skeyseed(prf, v["ni"], v["nr"], v["gir_new"], old_sk_d=sk_d) == v["skeyseed_rekey"]


def test_derive_ike_keys_splits_keymat_in_rfc_order():
    v = {k: bytes.fromhex(x) for k, x in NIST_IKEV2_SHA256.items()}
    prf = Prf(m.PRF_HMAC_SHA2_256)
    keys = crypto.derive_ike_keys(prf, Integrity(m.INTEG_HMAC_SHA2_256_128), m.ENCR_AES_CBC, 256, v["ni"], v["nr"],
                                  v["spi_i"], v["spi_r"], v["gir"])
    km = prf.plus(v["skeyseed"], v["ni"] + v["nr"] + v["spi_i"] + v["spi_r"], 32 * 7)
    assert [keys.sk_d, keys.sk_ai, keys.sk_ar, keys.sk_ei, keys.sk_er, keys.sk_pi, keys.sk_pr] == \
        [km[i * 32:(i + 1) * 32] for i in range(7)]


def test_child_keymat_order_with_and_without_pfs():
    prf = Prf(m.PRF_HMAC_SHA2_384)
    sk_d, ni, nr, gir = os.urandom(48), os.urandom(32), os.urandom(32), os.urandom(48)
    k = crypto.derive_child_keys(prf, sk_d, ni, nr, m.ENCR_AES_GCM_16, 256)
    km = prf.plus(sk_d, ni + nr, 72)
    assert (k.encr_i2r, k.encr_r2i) == (km[:36], km[36:])
    k2 = crypto.derive_child_keys(prf, sk_d, ni, nr, m.ENCR_AES_GCM_16, 128, shared=gir)
    km2 = prf.plus(sk_d, gir + ni + nr, 40)
    assert (k2.encr_i2r, k2.encr_r2i) == (km2[:20], km2[20:])


CIPHERS = [
    (m.ENCR_AES_CBC, 128, m.INTEG_HMAC_SHA1_96), (m.ENCR_AES_CBC, 192, m.INTEG_HMAC_MD5_96),
    (m.ENCR_AES_CBC, 256, m.INTEG_HMAC_SHA2_512_256), (m.ENCR_3DES, None, m.INTEG_HMAC_SHA2_256_128),
    (m.ENCR_DES, None, m.INTEG_HMAC_SHA2_384_192), (m.ENCR_AES_GCM_16, 128, m.INTEG_NONE),
    (m.ENCR_AES_GCM_16, 256, m.INTEG_NONE), (m.ENCR_AES_GCM_12, 256, m.INTEG_NONE),
    (m.ENCR_AES_GCM_8, 128, m.INTEG_NONE), (m.ENCR_CHACHA20_POLY1305, None, m.INTEG_NONE),
]


@pytest.mark.parametrize("encr,bits,integ", CIPHERS)
def test_sk_seal_open_roundtrip_and_tamper(encr, bits, integ):
    key = os.urandom(crypto.encr_key_length(encr, bits))
    ik = Integrity(integ) if integ else None
    ikey = os.urandom(ik.key_len) if ik else b""
    tx = SkCipher(encr, bits, key, ik, ikey)
    rx = SkCipher(encr, bits, key, ik, ikey)
    for size in (0, 1, 15, 16, 17, 300):
        plain = os.urandom(size)
        body_len = tx.sealed_length(len(plain))
        header = os.urandom(28) + bytes([m.PT_NOTIFY, 0]) + (4 + body_len).to_bytes(2, "big")
        body, icv = tx.seal(header, plain)
        wire = header + body + icv
        assert len(wire) == len(header) + body_len
        assert rx.open(wire, len(header), wire[len(header):]) == plain
        for pos in (0, len(header) + 2, len(wire) - 1):  # AAD/header, IV, ICV
            bad = bytearray(wire)
            bad[pos] ^= 0x01
            with pytest.raises(CryptoError):
                rx.open(bytes(bad), len(header), bytes(bad[len(header):]))
    with pytest.raises(CryptoError):
        rx.open(b"\x00" * 40, 28, b"\x00" * 12)  # too short to hold IV and ICV


def test_aead_ivs_never_repeat():
    tx = SkCipher(m.ENCR_AES_GCM_16, 256, os.urandom(36), None, b"")
    ivs = {tx.seal(b"hdr", b"x")[0][:8] for _ in range(1000)}
    assert len(ivs) == 1000
