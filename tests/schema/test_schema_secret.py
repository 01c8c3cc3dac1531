"""Junos' reversible $9$ obfuscation: public test vectors, round trips, malformed input."""

from __future__ import annotations

import random

import pytest

from netconf_device.schema import secret

# Public vectors: Crypt::Juniper's synopsis ($9$LbHX-wg4Z is "lc") and netconan's deterministic ones
# (salt "n" with filler "net").
KNOWN = [
    ("$9$LbHX-wg4Z", "lc"),
    ("$9$nnet/9pOBEyrv", "abc"),
    ("$9$nnet/p01RhrKM", "123"),
    ("$9$nnet9pBcSe8xdApK8xdg4aZUi.5", "netconan"),
]


@pytest.mark.parametrize(("cipher", "plain"), KNOWN)
def test_decode_public_vectors(cipher, plain):
    assert secret.decode9(cipher) == plain


@pytest.mark.parametrize(("cipher", "plain"), KNOWN[1:])
def test_encode_with_fixed_salt_reproduces_vectors(cipher, plain):
    assert secret.encode9(plain, salt="nnet") == cipher


def test_random_round_trip():
    rng = random.Random(9)
    for _ in range(500):
        plain = "".join(chr(rng.randint(0, 255)) for _ in range(rng.randint(0, 80)))
        cipher = secret.encode9(plain)
        assert cipher.startswith("$9$")
        assert secret.decode9(cipher) == plain


def test_salt_is_random():
    assert len({secret.encode9("lab-secret-123") for _ in range(20)}) > 1


@pytest.mark.parametrize("bad", ["", "abc", "$9$", "$9$LbHX-wg4", "$9$Lb~X-wg4Z", "$8$LbHX-wg4Z"])
def test_malformed_is_refused(bad):
    with pytest.raises(ValueError):
        secret.decode9(bad)


def test_is_encoded():
    assert secret.is_encoded("$9$LbHX-wg4Z")
    assert not secret.is_encoded("lab-secret-123")
    with pytest.raises(ValueError):
        secret.encode9("snowman \u2603")
