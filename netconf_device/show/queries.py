"""Arguments of the show/clear RPCs: parse the request element into a typed query.

Argument names follow reference/junos-xml.md §1.0 (Perl method tables of 12.3R4 and YANG 24.4). Both the old
and the new spelling of an index are accepted (``<index>`` and ``<show-index-ike-security-association>``),
as the reference recommends. Arguments that select a location on an SRX (``fpc``, ``pic``,
``kmd-instance``, ``node-local`` ...) are accepted and ignored: an MX has one key-management daemon.
Anything else, or a malformed value, raises ``ShowArgumentError`` so the RPC layer can answer with a
Junos-shaped ``<rpc-error>``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal

from netconf_device.show.xmlutil import Element, local_name

Level = Literal["brief", "detail"]
Family = Literal["inet", "inet6"]

_UINT32_MAX = 4294967295


class ShowArgumentError(ValueError):
    """A bad argument of an operational RPC.

    ``element`` names the offending argument; ``tag`` is the RFC 6241 error-tag for the ``<rpc-error>``:
    ``invalid-value``, ``unknown-element`` or ``missing-element``.
    """

    def __init__(self, message: str, element: str, tag: str = "invalid-value") -> None:
        super().__init__(message)
        self.message = message
        self.element = element
        self.tag = tag


@dataclass(frozen=True)
class _Spec:
    toggles: frozenset[str] = frozenset()  # empty elements: <brief/>, <detail/>
    integers: frozenset[str] = frozenset()  # uint32 1..4294967295
    addresses: frozenset[str] = frozenset()  # IPv4/IPv6 address
    strings: frozenset[str] = frozenset()
    ignored: frozenset[str] = frozenset()


_LOCATION = frozenset({"fpc", "pic", "kmd-instance", "node-local", "sa-type", "srg-id"})


def _parse(rpc: Element, spec: _Spec) -> dict[str, object]:
    values: dict[str, object] = {}
    for element in rpc:
        if not isinstance(element.tag, str):
            continue  # comments and processing instructions carry no argument
        name = local_name(element)
        text = (element.text or "").strip()
        if name in spec.toggles:
            values[name] = True
        elif name in spec.integers:
            if not text.isdigit() or not 1 <= int(text) <= _UINT32_MAX:
                raise ShowArgumentError(f"invalid value '{text}' for {name}: expected 1..{_UINT32_MAX}", name)
            values[name] = int(text)
        elif name in spec.addresses:
            try:
                values[name] = str(ipaddress.ip_address(text))
            except ValueError:
                raise ShowArgumentError(f"invalid IP address '{text}' for {name}", name) from None
        elif name in spec.strings:
            if not text:
                raise ShowArgumentError(f"missing value for {name}", name)
            values[name] = text
        elif name in spec.ignored or name in _LOCATION:
            continue
        else:
            raise ShowArgumentError(f"syntax error: unexpected argument '{name}'", name, "unknown-element")
    return values


def _level(values: dict[str, object]) -> Level | None:
    if values.get("brief") and values.get("detail"):
        raise ShowArgumentError("brief and detail are mutually exclusive", "detail")
    if values.get("detail"):
        return "detail"
    if values.get("brief"):
        return "brief"
    return None


def _family(values: dict[str, object]) -> Family | None:
    family = values.get("family")
    if family is None:
        return None
    if family not in ("inet", "inet6"):
        raise ShowArgumentError(f"invalid value '{family}' for family: expected inet or inet6", "family")
    return family  # type: ignore[return-value]


def _one_index(values: dict[str, object], *names: str) -> int | None:
    given = [values[n] for n in names if n in values]
    if len(set(given)) > 1:
        raise ShowArgumentError("conflicting index arguments", names[0])
    return given[0] if given else None  # type: ignore[return-value]


# ============================================================================================== IKE


@dataclass(frozen=True)
class IkeSaQuery:
    level: Level | None = None  # None: brief, or detail when an index is given
    index: int | None = None
    peer_address: str | None = None
    family: Family | None = None


def parse_ike_sa_query(rpc: Element) -> IkeSaQuery:
    """``<get-ike-security-associations-information>`` arguments."""
    values = _parse(
        rpc,
        _Spec(
            toggles=frozenset({"brief", "detail"}),
            integers=frozenset({"index", "show-index-ike-security-association"}),
            addresses=frozenset({"peer-address"}),
            strings=frozenset({"family"}),
            ignored=frozenset({"show-srg-id-ike-security-association"}),
        ),
    )
    return IkeSaQuery(
        level=_level(values),
        index=_one_index(values, "show-index-ike-security-association", "index"),
        peer_address=values.get("peer-address"),  # type: ignore[arg-type]
        family=_family(values),
    )


@dataclass(frozen=True)
class IkeActivePeerQuery:
    level: Level | None = None
    peer_address: str | None = None
    port: int | None = None


def parse_ike_active_peer_query(rpc: Element) -> IkeActivePeerQuery:
    """``<get-ike-active-peers-information>`` arguments."""
    values = _parse(
        rpc,
        _Spec(
            toggles=frozenset({"brief", "detail"}),
            integers=frozenset({"port"}),
            addresses=frozenset({"peer-address"}),
            ignored=frozenset({"local-address", "local-port", "ike-id", "stats", "summary"}),
        ),
    )
    return IkeActivePeerQuery(
        level=_level(values),
        peer_address=values.get("peer-address"),  # type: ignore[arg-type]
        port=values.get("port"),  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class ClearIkeSaQuery:
    index: int | None = None
    peer_address: str | None = None
    port: int | None = None


def parse_clear_ike_sa_query(rpc: Element) -> ClearIkeSaQuery:
    """``<clear-ike-security-association>`` arguments (all optional: no argument clears every IKE SA)."""
    values = _parse(
        rpc,
        _Spec(integers=frozenset({"index", "port"}), addresses=frozenset({"peer-address"})),
    )
    return ClearIkeSaQuery(
        index=values.get("index"),  # type: ignore[arg-type]
        peer_address=values.get("peer-address"),  # type: ignore[arg-type]
        port=values.get("port"),  # type: ignore[arg-type]
    )


# ============================================================================================ IPsec


@dataclass(frozen=True)
class IpsecSaQuery:
    level: Level | None = None
    index: int | None = None
    family: Family | None = None
    vpn_name: str | None = None


def parse_ipsec_sa_query(rpc: Element) -> IpsecSaQuery:
    """``<get-security-associations-information>`` arguments."""
    values = _parse(
        rpc,
        _Spec(
            toggles=frozenset({"brief", "detail", "extensive"}),
            integers=frozenset({"index", "show-index-ipsec-security-association"}),
            strings=frozenset({"family", "show-vpnname-ipsec-security-association"}),
            ignored=frozenset(
                {
                    "show-trafficselectorname-ipsec-security-association",
                    "show-srg-id-ipsec-security-association",
                }
            ),
        ),
    )
    if values.get("extensive"):  # 24.4 YANG: extensive; we print the detail form for it
        values["detail"] = True
    return IpsecSaQuery(
        level=_level(values),
        index=_one_index(values, "show-index-ipsec-security-association", "index"),
        family=_family(values),
        vpn_name=values.get("show-vpnname-ipsec-security-association"),  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class IpsecIndexQuery:
    """`show security ipsec statistics [index N]`, `clear security ipsec statistics|security-associations
    [index N]`: ``index`` None means all."""

    index: int | None = None


def parse_ipsec_statistics_query(rpc: Element) -> IpsecIndexQuery:
    """``<get-ipsec-statistics-information>`` arguments."""
    values = _parse(
        rpc,
        _Spec(
            integers=frozenset({"show-index-ipsec-statistics", "index"}),
            ignored=frozenset({"show-ha-link-encryption-ipsec-stats", "show-srg-ipsec-statistics"}),
        ),
    )
    return IpsecIndexQuery(index=_one_index(values, "show-index-ipsec-statistics", "index"))


def parse_clear_ipsec_statistics_query(rpc: Element) -> IpsecIndexQuery:
    """``<clear-ipsec-statistics>`` arguments."""
    values = _parse(
        rpc,
        _Spec(
            integers=frozenset({"index"}),
            ignored=frozenset({"clear-ha-link-ipsec-statistics", "clear-srg-ipsec-statistics"}),
        ),
    )
    return IpsecIndexQuery(index=values.get("index"))  # type: ignore[arg-type]


def parse_clear_ipsec_sa_query(rpc: Element) -> IpsecIndexQuery:
    """``<clear-ipsec-security-association>`` arguments."""
    values = _parse(rpc, _Spec(integers=frozenset({"index"})))
    return IpsecIndexQuery(index=values.get("index"))  # type: ignore[arg-type]


# ========================================================================================== chassis


@dataclass(frozen=True)
class PicQuery:
    fpc_slot: int
    pic_slot: int


def parse_pic_detail_query(rpc: Element) -> PicQuery:
    """``<get-pic-detail>``: ``fpc-slot`` and ``pic-slot`` are both mandatory (YANG 24.4)."""
    values: dict[str, int] = {}
    for element in rpc:
        if not isinstance(element.tag, str):
            continue
        name = local_name(element)
        if name not in ("fpc-slot", "pic-slot"):
            raise ShowArgumentError(f"syntax error: unexpected argument '{name}'", name, "unknown-element")
        text = (element.text or "").strip()
        if not text.isdigit() or int(text) > 255:
            raise ShowArgumentError(f"invalid value '{text}' for {name}", name)
        values[name] = int(text)
    for name in ("fpc-slot", "pic-slot"):
        if name not in values:
            raise ShowArgumentError(f"missing mandatory argument '{name}'", name, "missing-element")
    return PicQuery(fpc_slot=values["fpc-slot"], pic_slot=values["pic-slot"])
