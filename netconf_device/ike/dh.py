"""Diffie-Hellman groups for IKEv2 (RFC 7296 §3.4), all through ``cryptography``.

MODP groups 1, 2 (RFC 2409), 5, 14, 15, 16 (RFC 3526) and 24 (RFC 5114 §2.3, 2048-bit with a 256-bit
prime-order subgroup); ECP groups 19, 20, 21 (RFC 5903: the public value is x | y, the shared secret is x);
group 31 Curve25519 (RFC 8031). Peer public values are validated (RFC 6989) before use.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dh, ec, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.utils import CryptographyDeprecationWarning


def _quiet(fn, *args):
    """Call a finite-field D-H constructor without cryptography's deprecation warning: IKE peers still
    negotiate MODP groups (MODP 14 is strongSwan's default)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return fn(*args)


class KeyExchangeError(ValueError):
    """The peer's public value is invalid for the group (answer INVALID_SYNTAX / fail the exchange)."""


@dataclass(frozen=True)
class _ModpParams:
    p: int
    g: int
    q: int | None = None


MODP_PARAMS: dict[int, _ModpParams] = {
    1: _ModpParams(
        p=int(
            "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
            "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A3620FFFFFFFFFFFFFFFF"
            , 16),
        g=2,
    ),
    2: _ModpParams(
        p=int(
            "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
            "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
            "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF"
            , 16),
        g=2,
    ),
    5: _ModpParams(
        p=int(
            "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
            "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
            "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
            "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA237327FFFFFFFFFFFFFFFF"
            , 16),
        g=2,
    ),
    14: _ModpParams(
        p=int(
            "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
            "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
            "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
            "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
            "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
            "15728E5A8AACAA68FFFFFFFFFFFFFFFF"
            , 16),
        g=2,
    ),
    15: _ModpParams(
        p=int(
            "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
            "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
            "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
            "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
            "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
            "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
            "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C"
            "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF"
            , 16),
        g=2,
    ),
    16: _ModpParams(
        p=int(
            "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
            "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
            "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
            "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
            "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
            "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
            "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C"
            "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A92108011A723C12A787E6D7"
            "88719A10BDBA5B2699C327186AF4E23C1A946834B6150BDA2583E9CA2AD44CE8DBBBC2DB04DE8EF92E8EFC141FBECAA6"
            "287C59474E6BC05D99B2964FA090C3A2233BA186515BE7ED1F612970CEE2D7AFB81BDD762170481CD0069127D5B05AA9"
            "93B4EA988D8FDDC186FFB7DC90A6C08F4DF435C934063199FFFFFFFFFFFFFFFF"
            , 16),
        g=2,
    ),
    24: _ModpParams(
        p=int(
            "87A8E61DB4B6663CFFBBD19C651959998CEEF608660DD0F25D2CEED4435E3B00E00DF8F1D61957D4FAF7DF4561B2AA30"
            "16C3D91134096FAA3BF4296D830E9A7C209E0C6497517ABD5A8A9D306BCF67ED91F9E6725B4758C022E0B1EF4275BF7B"
            "6C5BFC11D45F9088B941F54EB1E59BB8BC39A0BF12307F5C4FDB70C581B23F76B63ACAE1CAA6B7902D52526735488A0E"
            "F13C6D9A51BFA4AB3AD8347796524D8EF6A167B5A41825D967E144E5140564251CCACB83E6B486F6B3CA3F7971506026"
            "C0B857F689962856DED4010ABD0BE621C3A3960A54E710C375F26375D7014103A4B54330C198AF126116D2276E11715F"
            "693877FAD7EF09CADB094AE91E1A1597"
            , 16),
        g=int(
            "3FB32C9B73134D0B2E77506660EDBD484CA7B18F21EF205407F4793A1A0BA12510DBC15077BE463FFF4FED4AAC0BB555"
            "BE3A6C1B0C6B47B1BC3773BF7E8C6F62901228F8C28CBB18A55AE31341000A650196F931C77A57F2DDF463E5E9EC144B"
            "777DE62AAAB8A8628AC376D282D6ED3864E67982428EBC831D14348F6F2F9193B5045AF2767164E1DFC967C1FB3F2E55"
            "A4BD1BFFE83B9C80D052B985D182EA0ADB2A3B7313D3FE14C8484B1E052588B9B7D2BBD2DF016199ECD06E1557CD0915"
            "B3353BBB64E0EC377FD028370DF92B52C7891428CDC67EB6184B523D1DB246C32F63078490F00EF8D647D148D4795451"
            "5E2327CFEF98C582664B4C0F6CC41659"
            , 16),
        q=int("8CF83642A709A097B447997640129DA299B1A47D1EB3750BA308B0FE64F5FBD3", 16),
    ),
}

ECP_CURVES = {19: (ec.SECP256R1, 32), 20: (ec.SECP384R1, 48), 21: (ec.SECP521R1, 66)}
CURVE25519 = 31

SUPPORTED_GROUPS = tuple(sorted([*MODP_PARAMS, *ECP_CURVES, CURVE25519]))

GROUP_NAMES = {1: "MODP_768", 2: "MODP_1024", 5: "MODP_1536", 14: "MODP_2048", 15: "MODP_3072",
               16: "MODP_4096", 19: "ECP_256", 20: "ECP_384", 21: "ECP_521", 24: "MODP_2048_256",
               31: "CURVE_25519"}


def public_length(group: int) -> int:
    if group in MODP_PARAMS:
        return (MODP_PARAMS[group].p.bit_length() + 7) // 8
    if group in ECP_CURVES:
        return 2 * ECP_CURVES[group][1]
    if group == CURVE25519:
        return 32
    raise KeyExchangeError(f"unsupported DH group {group}")


@functools.cache
def _dh_parameters(group: int) -> dh.DHParameters:
    prm = MODP_PARAMS[group]
    return _quiet(lambda: dh.DHParameterNumbers(prm.p, prm.g, prm.q).parameters())


class KeyExchange:
    """One ephemeral key pair of ``group``; ``public`` is the KE payload data."""

    __slots__ = ("group", "public", "_private")

    def __init__(self, group: int, private=None):
        self.group = group
        if group in MODP_PARAMS:
            key = private or _quiet(_dh_parameters(group).generate_private_key)
            y = key.public_key().public_numbers().y
            self.public = y.to_bytes(public_length(group), "big")
        elif group in ECP_CURVES:
            curve, _size = ECP_CURVES[group]
            key = private or ec.generate_private_key(curve())
            self.public = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)[1:]
        elif group == CURVE25519:
            key = private or x25519.X25519PrivateKey.generate()
            self.public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        else:
            raise KeyExchangeError(f"unsupported DH group {group}")
        self._private = key

    def shared_secret(self, peer_public: bytes) -> bytes:
        """g^ir from the peer's KE data, validated; MODP padded to the prime length, ECP the x coordinate."""
        group = self.group
        if len(peer_public) != public_length(group):
            raise KeyExchangeError("KE data has the wrong length for the group")
        try:
            if group in MODP_PARAMS:
                prm = MODP_PARAMS[group]
                y = int.from_bytes(peer_public, "big")
                if not 1 < y < prm.p - 1:
                    raise KeyExchangeError("MODP public value out of range")
                if prm.q is not None and pow(y, prm.q, prm.p) != 1:
                    raise KeyExchangeError("MODP public value not in the prime-order subgroup")
                pub = _quiet(lambda: dh.DHPublicNumbers(y, _dh_parameters(group).parameter_numbers()).public_key())
                secret = _quiet(self._private.exchange, pub)
                return secret.rjust(len(peer_public), b"\x00")
            if group in ECP_CURVES:
                curve, _size = ECP_CURVES[group]
                pub = ec.EllipticCurvePublicKey.from_encoded_point(curve(), b"\x04" + peer_public)
                return self._private.exchange(ec.ECDH(), pub)
            pub = x25519.X25519PublicKey.from_public_bytes(peer_public)
            return self._private.exchange(pub)
        except KeyExchangeError:
            raise
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise KeyExchangeError(f"invalid public value: {exc}") from exc


def modp_private_key(group: int, x: int) -> dh.DHPrivateKey:
    """A fixed MODP private key (known-answer tests)."""
    params = _dh_parameters(group)
    y = pow(MODP_PARAMS[group].g, x, MODP_PARAMS[group].p)
    return _quiet(lambda: dh.DHPrivateNumbers(x, dh.DHPublicNumbers(y, params.parameter_numbers())).private_key())
