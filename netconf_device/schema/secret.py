"""Junos' reversible ``$9$`` obfuscation of configuration secrets (pre-shared keys, manual SA keys)."""

from __future__ import annotations


def encode9(plain: str, salt: str | None = None) -> str:
    """Obfuscate ``plain`` as Junos does (random salt unless given)."""
    raise NotImplementedError


def decode9(cipher: str) -> str:
    """Reverse ``encode9``; raises ValueError for a malformed ``$9$`` string."""
    raise NotImplementedError
