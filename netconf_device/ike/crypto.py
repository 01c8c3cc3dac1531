"""IKEv2 key material and the SK / SKF payload protection (RFC 7296 §2.13-2.14, §3.14; RFC 5282; RFC 7634;
RFC 7383 §2.5), all through ``cryptography``.

* :class:`Prf` — prf() and prf+() for HMAC-MD5/SHA1/SHA2-256/384/512.
* :class:`Integrity` — HMAC-*-96/128/192/256 ICVs for CBC ciphers.
* :class:`SkCipher` — CBC (AES, 3DES, DES) with an integrity algorithm, or AEAD (AES-GCM 8/12/16,
  ChaCha20-Poly1305), sealing and opening SK and SKF payload bodies.
* :func:`derive_ike_keys` / :func:`derive_child_keys` — SKEYSEED and the key order of §2.14 and §2.17.
"""

from __future__ import annotations

import hmac as _hmac
import os
import struct
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as chmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from . import message as m

_HASHES = {
    "md5": hashes.MD5,
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}

PRF_HASH = {
    m.PRF_HMAC_MD5: "md5",
    m.PRF_HMAC_SHA1: "sha1",
    m.PRF_HMAC_SHA2_256: "sha256",
    m.PRF_HMAC_SHA2_384: "sha384",
    m.PRF_HMAC_SHA2_512: "sha512",
}

# integrity id -> (hash, key length, ICV length)
INTEG_PARAMS = {
    m.INTEG_HMAC_MD5_96: ("md5", 16, 12),
    m.INTEG_HMAC_SHA1_96: ("sha1", 20, 12),
    m.INTEG_HMAC_SHA2_256_128: ("sha256", 32, 16),
    m.INTEG_HMAC_SHA2_384_192: ("sha384", 48, 24),
    m.INTEG_HMAC_SHA2_512_256: ("sha512", 64, 32),
}

AEAD_ICV = {m.ENCR_AES_GCM_8: 8, m.ENCR_AES_GCM_12: 12, m.ENCR_AES_GCM_16: 16, m.ENCR_CHACHA20_POLY1305: 16}
AEAD_SALT = 4
AEAD_IV = 8


class CryptoError(Exception):
    """Integrity check or decryption failed (the message is dropped)."""


def hmac_digest(hash_name: str, key: bytes, data: bytes) -> bytes:
    h = chmac.HMAC(key, _HASHES[hash_name]())
    h.update(data)
    return h.finalize()


def hash_digest(hash_name: str, data: bytes) -> bytes:
    h = hashes.Hash(_HASHES[hash_name]())
    h.update(data)
    return h.finalize()


class Prf:
    __slots__ = ("alg", "hash_name", "size", "_algo")

    def __init__(self, alg: int):
        if alg not in PRF_HASH:
            raise ValueError(f"unsupported PRF {alg}")
        self.alg = alg
        self.hash_name = PRF_HASH[alg]
        self._algo = _HASHES[self.hash_name]
        self.size = self._algo.digest_size

    def __call__(self, key: bytes, data: bytes) -> bytes:
        h = chmac.HMAC(key, self._algo())
        h.update(data)
        return h.finalize()

    def plus(self, key: bytes, seed: bytes, length: int) -> bytes:
        """prf+ (RFC 7296 §2.13): T1 | T2 | ... with Tn = prf(K, Tn-1 | S | n)."""
        if length > 255 * self.size:
            raise ValueError("prf+ output too long")
        out = bytearray()
        t = b""
        n = 1
        while len(out) < length:
            t = self(key, t + seed + bytes([n]))
            out += t
            n += 1
        return bytes(out[:length])


class Integrity:
    __slots__ = ("alg", "hash_name", "key_len", "icv_len", "_algo")

    def __init__(self, alg: int):
        if alg not in INTEG_PARAMS:
            raise ValueError(f"unsupported integrity algorithm {alg}")
        self.alg = alg
        self.hash_name, self.key_len, self.icv_len = INTEG_PARAMS[alg]
        self._algo = _HASHES[self.hash_name]

    def icv(self, key: bytes, data: bytes) -> bytes:
        h = chmac.HMAC(key, self._algo())
        h.update(data)
        return h.finalize()[: self.icv_len]


def encr_key_length(encr: int, key_bits: int | None) -> int:
    """Bytes of SK_e / ESP key material for one direction (AEAD: key plus 4-byte salt)."""
    if encr in (m.ENCR_AES_CBC, m.ENCR_AES_GCM_8, m.ENCR_AES_GCM_12, m.ENCR_AES_GCM_16, m.ENCR_AES_CTR):
        if key_bits not in (128, 192, 256):
            raise ValueError("AES needs a key length of 128, 192 or 256")
        return key_bits // 8 + (AEAD_SALT if encr in AEAD_ICV else 0)
    if encr == m.ENCR_CHACHA20_POLY1305:
        return 32 + AEAD_SALT
    if encr == m.ENCR_3DES:
        return 24
    if encr == m.ENCR_DES:
        return 8
    raise ValueError(f"unsupported encryption algorithm {encr}")


class SkCipher:
    """Protects SK/SKF payloads in one direction (key + optional integrity key)."""

    __slots__ = ("encr", "aead", "block", "iv_len", "icv_len", "_key", "_salt", "_integ", "_integ_key",
                 "_aead_obj", "_iv_counter", "_iv_prefix", "_cipher_algo")

    def __init__(self, encr: int, key_bits: int | None, key: bytes, integ: Integrity | None, integ_key: bytes):
        self.encr = encr
        self.aead = encr in AEAD_ICV
        self._integ = integ
        self._integ_key = integ_key
        self._iv_counter = 0
        self._iv_prefix = int.from_bytes(os.urandom(4), "big") << 32
        if self.aead:
            self._key, self._salt = key[:-AEAD_SALT], key[-AEAD_SALT:]
            self.icv_len = AEAD_ICV[encr]
            self.iv_len = AEAD_IV
            self.block = 4
            if encr == m.ENCR_CHACHA20_POLY1305:
                self._aead_obj = ChaCha20Poly1305(self._key)
            elif self.icv_len == 16:
                self._aead_obj = AESGCM(self._key)
            else:
                self._aead_obj = None  # truncated GCM tags need the Cipher API
            self._cipher_algo = None
        else:
            if integ is None:
                raise ValueError("a CBC cipher needs an integrity algorithm")
            self._key, self._salt = key, b""
            self.icv_len = integ.icv_len
            self._aead_obj = None
            if encr == m.ENCR_AES_CBC:
                self._cipher_algo = algorithms.AES(key)
                self.block = 16
            elif encr in (m.ENCR_3DES, m.ENCR_DES):
                # single DES is 3DES with K1 = K2 = K3 (the same permutation)
                self._cipher_algo = TripleDES(key if encr == m.ENCR_3DES else key * 3)
                self.block = 8
            else:
                raise ValueError(f"unsupported encryption algorithm {encr}")
            self.iv_len = self.block

    # -------------------------------------------------------------------------------------------- IVs
    def _next_iv(self) -> bytes:
        if self.aead:
            # a counter under a random prefix: unique per key, as RFC 5282 requires
            self._iv_counter += 1
            return (self._iv_prefix | (self._iv_counter & 0xFFFFFFFF)).to_bytes(8, "big")
        return os.urandom(self.iv_len)

    def overhead(self) -> int:
        """Bytes an SK body adds beyond the plaintext, worst case (IV + max padding + pad length + ICV)."""
        return self.iv_len + self.block + self.icv_len

    def max_plaintext(self, body_room: int) -> int:
        """Largest plaintext that fits in ``body_room`` bytes of SK body."""
        room = body_room - self.iv_len - self.icv_len
        if room <= 1:
            return 0
        if self.aead:
            return room - 1
        return (room // self.block) * self.block - 1

    # -------------------------------------------------------------------------------------------- seal
    def seal(self, aad_prefix: bytes, plaintext: bytes) -> tuple[bytes, bytes]:
        """Encrypt. ``aad_prefix`` is everything before the IV (IKE header, payload header and, for SKF,
        fragment number/total) with final lengths already in place. Returns (body_before_icv, icv) for CBC
        — the caller's message must be complete before the ICV is computed — or the full body for AEAD.
        """
        iv = self._next_iv()
        if self.aead:
            plain = plaintext + b"\x00"  # no padding needed; pad length 0
            nonce = self._salt + iv
            if self._aead_obj is not None:
                ct = self._aead_obj.encrypt(nonce, plain, aad_prefix)
            else:
                enc = Cipher(algorithms.AES(self._key), modes.GCM(nonce)).encryptor()
                enc.authenticate_additional_data(aad_prefix)
                ct = enc.update(plain) + enc.finalize() + enc.tag[: self.icv_len]
            return iv + ct, b""
        padlen = (self.block - (len(plaintext) + 1) % self.block) % self.block
        plain = plaintext + bytes(padlen) + bytes([padlen])
        enc = Cipher(self._cipher_algo, modes.CBC(iv)).encryptor()
        ct = enc.update(plain) + enc.finalize()
        body = iv + ct
        icv = self._integ.icv(self._integ_key, aad_prefix + body)  # type: ignore[union-attr]
        return body, icv

    def sealed_length(self, plain_len: int) -> int:
        """Length of the SK body for a plaintext of ``plain_len`` bytes."""
        if self.aead:
            return self.iv_len + plain_len + 1 + self.icv_len
        padlen = (self.block - (plain_len + 1) % self.block) % self.block
        return self.iv_len + plain_len + padlen + 1 + self.icv_len

    # -------------------------------------------------------------------------------------------- open
    def open(self, message: bytes, body_offset: int, body: bytes) -> bytes:
        """Verify and decrypt an SK/SKF body that starts at ``body_offset`` of ``message`` (the IV).
        Returns the plaintext payload chain without padding. Raises CryptoError.
        """
        if len(body) < self.iv_len + self.icv_len + (1 if self.aead else self.block):
            raise CryptoError("encrypted payload too short")
        iv = body[: self.iv_len]
        if self.aead:
            aad = message[:body_offset]
            nonce = self._salt + iv
            ct = body[self.iv_len:]
            try:
                if self._aead_obj is not None:
                    plain = self._aead_obj.decrypt(nonce, ct, aad)
                else:
                    tag = ct[-self.icv_len:]
                    dec = Cipher(algorithms.AES(self._key), modes.GCM(nonce, tag, min_tag_length=self.icv_len)
                                 ).decryptor()
                    dec.authenticate_additional_data(aad)
                    plain = dec.update(ct[: -self.icv_len]) + dec.finalize()
            except InvalidTag as exc:
                raise CryptoError("ICV check failed") from exc
        else:
            icv = body[-self.icv_len:]
            signed = message[: body_offset + len(body) - self.icv_len]
            expect = self._integ.icv(self._integ_key, signed)  # type: ignore[union-attr]
            if not _hmac.compare_digest(icv, expect):
                raise CryptoError("ICV check failed")
            ct = body[self.iv_len: -self.icv_len]
            if len(ct) % self.block:
                raise CryptoError("ciphertext not a multiple of the block size")
            dec = Cipher(self._cipher_algo, modes.CBC(iv)).decryptor()
            plain = dec.update(ct) + dec.finalize()
        padlen = plain[-1]
        if padlen + 1 > len(plain):
            raise CryptoError("bad padding length")
        return plain[: len(plain) - padlen - 1]


# ------------------------------------------------------------------------------------------- key sets
@dataclass
class IkeKeys:
    sk_d: bytes = field(repr=False)
    sk_ai: bytes = field(repr=False)
    sk_ar: bytes = field(repr=False)
    sk_ei: bytes = field(repr=False)
    sk_er: bytes = field(repr=False)
    sk_pi: bytes = field(repr=False)
    sk_pr: bytes = field(repr=False)


def skeyseed(prf: Prf, ni: bytes, nr: bytes, shared: bytes, old_sk_d: bytes | None = None) -> bytes:
    """SKEYSEED (§2.14), or for an IKE SA rekey prf(SK_d (old), g^ir (new) | Ni | Nr) (§2.18)."""
    if old_sk_d is not None:
        return prf(old_sk_d, shared + ni + nr)
    return prf(ni + nr, shared)


def derive_ike_keys(prf: Prf, integ: Integrity | None, encr: int, encr_bits: int | None, ni: bytes, nr: bytes,
                    spi_i: bytes, spi_r: bytes, shared: bytes, old_sk_d: bytes | None = None,
                    old_prf: Prf | None = None) -> IkeKeys:
    # on an IKE SA rekey the old SA's PRF computes SKEYSEED and prf+ (as strongSwan does); key sizes
    # always follow the new PRF
    kdf = old_prf if (old_sk_d is not None and old_prf is not None) else prf
    seed_key = skeyseed(kdf, ni, nr, shared, old_sk_d)
    e_len = encr_key_length(encr, encr_bits)
    a_len = integ.key_len if integ else 0
    p_len = prf.size
    km = kdf.plus(seed_key, ni + nr + spi_i + spi_r, 3 * p_len + 2 * a_len + 2 * e_len)
    o = 0

    def take(n: int) -> bytes:
        nonlocal o
        o += n
        return km[o - n: o]

    sk_d = take(p_len)
    sk_ai, sk_ar = take(a_len), take(a_len)
    sk_ei, sk_er = take(e_len), take(e_len)
    sk_pi, sk_pr = take(p_len), take(p_len)
    return IkeKeys(sk_d, sk_ai, sk_ar, sk_ei, sk_er, sk_pi, sk_pr)


@dataclass
class ChildKeys:
    """ESP keys: ``i2r`` protects initiator -> responder traffic (key || salt for AEAD)."""

    encr_i2r: bytes = field(repr=False)
    integ_i2r: bytes = field(repr=False)
    encr_r2i: bytes = field(repr=False)
    integ_r2i: bytes = field(repr=False)


def derive_child_keys(prf: Prf, sk_d: bytes, ni: bytes, nr: bytes, encr: int, encr_bits: int | None,
                      integ_key_len: int = 0, shared: bytes | None = None) -> ChildKeys:
    """KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr), split as in RFC 7296 §2.17."""
    e_len = encr_key_length(encr, encr_bits)
    km = prf.plus(sk_d, (shared or b"") + ni + nr, 2 * (e_len + integ_key_len))
    a = e_len + integ_key_len
    return ChildKeys(km[:e_len], km[e_len:a], km[a: a + e_len], km[a + e_len: 2 * a])


def make_sk_ciphers(encr: int, encr_bits: int | None, integ_alg: int, keys: IkeKeys, initiator: bool
                    ) -> tuple[SkCipher, SkCipher]:
    """(outbound, inbound) SK ciphers for this side of an IKE SA."""
    integ = Integrity(integ_alg) if integ_alg != m.INTEG_NONE else None
    i2r = SkCipher(encr, encr_bits, keys.sk_ei, integ, keys.sk_ai)
    r2i = SkCipher(encr, encr_bits, keys.sk_er, integ, keys.sk_ar)
    return (i2r, r2i) if initiator else (r2i, i2r)


def fragment_aad(header: bytes, first: int, body_len: int, number: int, total: int) -> bytes:
    """IKE header + SKF generic header + number/total: the part of a fragment before its IV."""
    return header + struct.pack("!BBHHH", first, 0, 8 + body_len, number, total)
