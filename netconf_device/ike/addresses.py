"""IP address helpers for hot paths: ``ipaddress.ip_address`` re-parses the text form even of an address
object, which costs more than the rest of a NAT-D hash."""

from __future__ import annotations

import functools
import ipaddress

IP_TYPES = (ipaddress.IPv4Address, ipaddress.IPv6Address)


def ip(value):
    """An address object for ``value`` (an address object, text, or packed bytes); objects pass through."""
    if isinstance(value, IP_TYPES):
        return value
    if isinstance(value, str):
        return parse_text(value)
    return ipaddress.ip_address(value)


@functools.lru_cache(maxsize=65536)
def parse_text(text: str):
    """Parse (and remember) the text form of an address: sockets hand us the same few peers over and over."""
    return ipaddress.ip_address(text)
