"""SHA-512-crypt (``$6$``) password hashes, as Junos stores them in ``encrypted-password``.

Why our own ~50 lines instead of a library: the stdlib ``crypt`` module is deprecated and gone in Python
3.13, and passlib has had no release since 2020; the algorithm (Ulrich Drepper's "Unix crypt using
SHA-256 and SHA-512", the ``$6$`` of glibc) is fully specified and needs only SHA-512. The tests check it
against the specification's vectors and, where the interpreter still has it, against ``crypt``.
Verification compares in constant time (``hmac.compare_digest``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

_ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_DEFAULT_ROUNDS = 5000
_MIN_ROUNDS, _MAX_ROUNDS = 1000, 999_999_999
# Byte triples of the final digest, in the order the $6$ encoding emits them.
_ORDER = (
    (0, 21, 42), (22, 43, 1), (44, 2, 23), (3, 24, 45), (25, 46, 4), (47, 5, 26), (6, 27, 48),
    (28, 49, 7), (50, 8, 29), (9, 30, 51), (31, 52, 10), (53, 11, 32), (12, 33, 54), (34, 55, 13),
    (56, 14, 35), (15, 36, 57), (37, 58, 16), (59, 17, 38), (18, 39, 60), (40, 61, 19), (62, 20, 41),
)
MAX_PASSWORD_BYTES = 1024  # long inputs cost O(len * rounds); nobody types more


def _repeat(digest: bytes, length: int) -> bytes:
    return (digest * (length // len(digest) + 1))[:length]


def _encode(b2: int, b1: int, b0: int, n: int) -> str:
    w = (b2 << 16) | (b1 << 8) | b0
    out = []
    for _ in range(n):
        out.append(_ALPHABET[w & 0x3F])
        w >>= 6
    return "".join(out)


def _sha512_crypt(password: bytes, salt: bytes, rounds: int) -> str:
    b = hashlib.sha512(password + salt + password).digest()
    a = hashlib.sha512(password + salt)
    a.update(_repeat(b, len(password)))
    i = len(password)
    while i > 0:
        a.update(b if i & 1 else password)
        i >>= 1
    c = a.digest()
    p = _repeat(hashlib.sha512(password * len(password)).digest(), len(password))
    s = _repeat(hashlib.sha512(salt * (16 + c[0])).digest(), len(salt))
    for r in range(rounds):
        h = hashlib.sha512(p if r & 1 else c)
        if r % 3:
            h.update(s)
        if r % 7:
            h.update(p)
        h.update(c if r & 1 else p)
        c = h.digest()
    encoded = "".join(_encode(c[x], c[y], c[z], 4) for x, y, z in _ORDER) + _encode(0, 0, c[63], 2)
    return encoded


def _parse(setting: str) -> tuple[bytes, int, bool]:
    if not setting.startswith("$6$"):
        raise ValueError("not a SHA-512-crypt hash")
    rest = setting[3:]
    rounds, custom = _DEFAULT_ROUNDS, False
    if rest.startswith("rounds="):
        value, _, rest = rest[7:].partition("$")
        rounds = min(max(int(value), _MIN_ROUNDS), _MAX_ROUNDS)
        custom = True
    salt = rest.split("$", 1)[0][:16]
    return salt.encode(), rounds, custom


def sha512_crypt(password: str, setting: str | None = None, *, rounds: int = _DEFAULT_ROUNDS) -> str:
    """Hash ``password``; ``setting`` is an existing hash (its salt and rounds are reused) or None."""
    if setting is None:
        salt = "".join(secrets.choice(_ALPHABET) for _ in range(16))
        setting = f"$6$rounds={rounds}${salt}" if rounds != _DEFAULT_ROUNDS else f"$6${salt}"
    salt_b, rounds, custom = _parse(setting)
    pw = password.encode()
    digest = _sha512_crypt(pw, salt_b, rounds)
    prefix = f"$6$rounds={rounds}$" if custom else "$6$"
    return f"{prefix}{salt_b.decode()}${digest}"


def verify_password(password: str, encrypted: str) -> bool:
    """True iff ``password`` matches the ``$6$`` hash ``encrypted``; unknown hash kinds never match."""
    if not encrypted or len(password.encode()) > MAX_PASSWORD_BYTES:
        return False
    try:
        computed = sha512_crypt(password, encrypted)
    except ValueError:
        return False
    return hmac.compare_digest(computed.encode(), encrypted.encode())
