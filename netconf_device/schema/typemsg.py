"""Clear messages for values the address, prefix and name types refuse.

libyang only says that a value does not match a long regular expression. Junos' type check names the type
(``'300.1.1.1/24' is not a valid IPv4 prefix``); here the typedef a leaf uses (``jt:ipv4prefix`` ...) picks
the wording and, for prefixes, ``ipaddress`` says which part is wrong. libyang stays the judge of validity:
these functions only word an error it already reported.
"""

from __future__ import annotations

import ipaddress


def _is_v4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def _is_v6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _prefix_reason(value: str, version: int) -> str:
    """Why ``value`` is not an IPv``version`` prefix ("" when the parts look right on their own)."""
    address, slash, length = value.partition("/")
    longest = 32 if version == 4 else 128
    if not slash:
        return f"missing prefix length (/0..{longest})"
    if version == 4 and not _is_v4(address):
        return "the address must be four octets 0..255"
    if version == 6 and not _is_v6(address):
        return "the address part is not an IPv6 address"
    if not length.isdigit() or int(length) > longest:
        return f"prefix length must be 0..{longest}"
    return ""


def _prefix(value: str, version: int | None) -> str:
    if version is None:  # either family: judge by the address part
        version = 6 if ":" in value else 4
        label = "IP"
    else:
        label = f"IPv{version}"
    reason = _prefix_reason(value, version)
    return f"'{value}' is not a valid {label} prefix" + (f": {reason}" if reason else "")


_MESSAGES = {
    "ipv4prefix": lambda v: _prefix(v, 4),
    "ipv6prefix": lambda v: _prefix(v, 6),
    "ipprefix": lambda v: _prefix(v, None),
    "ipv4addr": lambda v: f"'{v}' is not a valid IPv4 address",
    "ipv6addr": lambda v: f"'{v}' is not a valid IPv6 address",
    "ipaddr": lambda v: f"'{v}' is not a valid IP address",
    "hostname": lambda v: f"'{v}' is not a valid host name",
    "ip-or-hostname": lambda v: f"'{v}' is not a valid IP address or host name",
    "ip-or-interface": lambda v: f"'{v}' is not a valid next hop: expected an IP address or a logical "
                                 "interface such as st0.1",
}


def invalid_value_message(type_name: str | None, leaf_name: str, value: str) -> str:
    """The message for ``value`` refused by the pattern (or union) of a leaf of typedef ``type_name``."""
    wording = _MESSAGES.get(type_name or "")
    if wording is not None:
        return wording(value)
    return f"Invalid value for '{leaf_name}': '{value}'"
