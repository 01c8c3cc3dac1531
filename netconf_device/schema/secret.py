"""Junos' reversible ``$9$`` obfuscation of configuration secrets (pre-shared keys, manual SA keys).

This is obfuscation, not encryption: anyone can reverse it. Junos uses it so secrets do not show in clear
text on screen. Layout: ``$9$`` + one salt character + 0..3 random filler characters (how many depends on
the salt's "family") + for each clear-text character 2..4 characters whose distances in a 65-letter
alphabet, weighted by a per-position table, add up to the character's code.
"""

from __future__ import annotations

import os

MAGIC = "$9$"
# The alphabet, in four families; a salt from family i is followed by 3 - i filler characters.
_FAMILIES = ("QzF3n6/9CAtpu0O", "B1IREhcSyrleKvMW8LXx", "7N-dVbwsY2g4oaJZGUDj", "iHkq.mPf5T")
_ALPHABET = "".join(_FAMILIES)
_POSITION = {ch: i for i, ch in enumerate(_ALPHABET)}
_FILLER = {ch: 3 - family for family, chars in enumerate(_FAMILIES) for ch in chars}
# Weights of the distances that encode one clear-text character, cycling with its position.
_WEIGHTS = ((1, 4, 32), (1, 16, 32), (1, 8, 32), (1, 64), (1, 32), (1, 4, 16, 128), (1, 32, 64))


def is_encoded(value: str) -> bool:
    """True when ``value`` looks like a ``$9$`` string that decodes."""
    if not value.startswith(MAGIC):
        return False
    try:
        decode9(value)
    except ValueError:
        return False
    return True


def encode9(plain: str, salt: str | None = None) -> str:
    """Obfuscate ``plain`` as Junos does. ``salt`` (for tests) is the salt character followed by its
    filler characters, e.g. ``"nnet"``; by default both are random."""
    if salt is None:  # one system call for all the randomness (a slight modulo bias is irrelevant here)
        rnd = os.urandom(4)
        first = _ALPHABET[rnd[0] % len(_ALPHABET)]
        salt = first + "".join(_ALPHABET[b % len(_ALPHABET)] for b in rnd[1 : 1 + _FILLER[first]])
    if not salt or salt[0] not in _FILLER or len(salt) != 1 + _FILLER[salt[0]]:
        raise ValueError("salt must be one alphabet character followed by its filler characters")
    if any(ch not in _POSITION for ch in salt):
        raise ValueError("salt has a character outside the $9$ alphabet")
    out = [MAGIC, salt]
    previous = _POSITION[salt[0]]
    for position, char in enumerate(plain):
        code = ord(char)
        if code > 255:
            raise ValueError("only 8-bit characters can be $9$-encoded")
        key = (previous, position % len(_WEIGHTS), code)
        encoded = _ENCODED.get(key)
        if encoded is None:
            encoded = _ENCODED[key] = _encode_char(*key)
        chars, previous = encoded
        out.append(chars)
    cipher = "".join(out)
    _remember(cipher, plain)  # the commit that follows a load decodes what the load just encoded
    return cipher


_ENCODED: dict[tuple[int, int, int], tuple[str, int]] = {}  # at most 65 * 7 * 256 entries


def _encode_char(previous: int, slot: int, code: int) -> tuple[str, int]:
    """The characters encoding ``code`` after alphabet position ``previous`` at weight slot ``slot``."""
    distances = []
    for weight in reversed(_WEIGHTS[slot]):  # largest weight first, remainders go to the smaller ones
        distances.append(code // weight)
        code %= weight
    distances.reverse()
    chars = []
    for distance in distances:
        previous = (previous + distance + 1) % len(_ALPHABET)
        chars.append(_ALPHABET[previous])
    return "".join(chars), previous


# cipher -> clear text of recently encoded or decoded secrets: every commit re-checks and recompiles the
# same secrets, and decoding is pure. Bounded; the oldest entry goes first.
_DECODED: dict[str, str] = {}
_DECODED_MAX = 16384


def _remember(cipher: str, plain: str) -> None:
    if len(_DECODED) >= _DECODED_MAX:
        try:
            del _DECODED[next(iter(_DECODED))]
        except (StopIteration, RuntimeError, KeyError):  # another thread got there first
            pass
    _DECODED[cipher] = plain


def decode9(cipher: str) -> str:
    """Reverse ``encode9``; raises ValueError for a malformed ``$9$`` string."""
    plain = _DECODED.get(cipher)
    if plain is None:
        plain = _decode(cipher)
        _remember(cipher, plain)
    return plain


def _decode(cipher: str) -> str:
    if not cipher.startswith(MAGIC):
        raise ValueError("not a $9$ string")
    body = cipher[len(MAGIC) :]
    if not body or body[0] not in _FILLER:
        raise ValueError("bad $9$ salt")
    if any(ch not in _POSITION for ch in body):
        raise ValueError("character outside the $9$ alphabet")
    previous = body[0]
    rest = body[1 + _FILLER[previous] :]
    if len(body) < 1 + _FILLER[previous]:
        raise ValueError("truncated $9$ string")
    plain: list[str] = []
    i = 0
    while i < len(rest):
        weights = _WEIGHTS[len(plain) % len(_WEIGHTS)]
        group = rest[i : i + len(weights)]
        if len(group) != len(weights):
            raise ValueError("truncated $9$ string")
        code = 0
        for weight, char in zip(weights, group, strict=True):
            distance = (_POSITION[char] - _POSITION[previous]) % len(_ALPHABET) - 1
            code += distance * weight
            previous = char
        if not 0 <= code <= 255:
            raise ValueError("corrupt $9$ string")
        plain.append(chr(code))
        i += len(weights)
    return "".join(plain)
