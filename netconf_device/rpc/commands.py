"""The ONE table mapping CLI command text to an RPC and its arguments (DESIGN principle 5).

``<command>`` and ``| display xml rpc`` both use :func:`parse_command`, so they cannot disagree. To add a
command, add a row: the fixed words, the RPC, its flag keywords (``detail`` -> ``<detail/>``), its keyword
arguments (``index 3`` -> ``<show-index-...>3</...>``) and at most one positional argument
(``show interfaces st0.1`` -> ``<interface-name>st0.1</interface-name>``). Words may be abbreviated to any
unique prefix, as on the Junos CLI (``sh int te``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from netconf_device.netconf.errors import RpcError


@dataclass(frozen=True)
class Command:
    words: tuple[str, ...]
    rpc: str
    flags: tuple[str, ...] = ()
    values: dict[str, str] = field(default_factory=dict)  # CLI keyword -> XML element
    positional: str | None = None  # XML element of a bare argument
    fixed: tuple[tuple[str, str | None], ...] = ()  # elements always added: (name, text or None)
    switch: tuple[tuple[str, str], ...] = ()  # (element, rpc): another RPC when that argument is given


def _c(text: str, rpc: str, flags: str = "", values: dict[str, str] | None = None, positional: str | None = None,
       fixed: tuple[tuple[str, str | None], ...] = (), switch: tuple[tuple[str, str], ...] = ()) -> Command:
    return Command(tuple(text.split()), rpc, tuple(flags.split()), dict(values or {}), positional, fixed, switch)


COMMANDS: tuple[Command, ...] = (
    # --- system and chassis (what clients ask on connect)
    _c("show version", "get-software-information", "brief detail", {"invoke-on": "invoke-on"}),
    _c("show chassis hardware", "get-chassis-inventory", "detail extensive models clei-models"),
    _c("show chassis routing-engine", "get-route-engine-information", "", {"slot": "slot"}, "slot"),
    _c("show chassis alarms", "get-alarm-information"),
    # "show chassis fpc 0 pic 0" (the seed's form) is the PIC detail of "show chassis pic fpc-slot 0 pic-slot 0"
    _c("show chassis fpc", "get-fpc-information", "detail", {"pic": "pic-slot"}, "fpc-slot",
       switch=(("pic-slot", "get-pic-detail"),)),
    _c("show chassis fpc pic-status", "get-pic-information", "", {}, "slot"),
    _c("show chassis pic", "get-pic-detail", "", {"fpc-slot": "fpc-slot", "pic-slot": "pic-slot"}),
    _c("show system alarms", "get-system-alarm-information"),
    _c("show system memory", "get-system-memory-information"),
    _c("show system storage", "get-system-storage", "detail"),
    _c("show system uptime", "get-system-uptime-information"),
    _c("show system information", "get-system-information"),
    _c("show system commit", "get-commit-information"),
    _c("show system users", "get-system-users-information", "no-resolve"),
    _c("show bridge mac-table", "get-bridge-mac-table", "count brief detail extensive"),
    _c("show ethernet-switching table", "get-ethernet-switching-table-information", "summary brief detail"),
    _c("show virtual-chassis", "get-virtual-chassis-information", "status"),
    _c("show chassis cluster status", "get-chassis-cluster-status"),
    _c("show chassis satellite", "get-jnu-satellites-information"),
    _c("request system reboot", "request-reboot", "both-routing-engines", {"in": "in", "at": "at", "message": "message"}),
    _c("request system halt", "request-halt", "both-routing-engines", {"in": "in", "at": "at", "message": "message"}),
    _c("request system power-off", "request-power-off", "both-routing-engines",
       {"in": "in", "at": "at", "message": "message"}),
    _c("file show", "file-show", "", {}, "filename"),
    _c("file list", "file-list", "detail", {}, "path"),
    # --- interfaces
    _c("show interfaces", "get-interface-information", "terse brief detail extensive statistics media descriptions",
       {"routing-instance": "routing-instance"}, "interface-name"),
    _c("show interfaces terse", "get-interface-information", "", {"routing-instance": "routing-instance"},
       "interface-name", (("terse", None),)),
    # --- configuration database
    _c("show configuration", "get-configuration"),
    _c("show system rollback", "get-rollback-information", "", {"compare": "compare"}, "rollback"),
    _c("show system configuration rescue", "get-rescue-information"),
    # --- IKE / IPsec (handlers registered by the integration; junos-xml.md §1.0)
    _c("show security ike security-associations", "get-ike-security-associations-information", "brief detail",
       {"index": "show-index-ike-security-association", "family": "family", "fpc": "fpc", "pic": "pic"},
       "peer-address"),
    _c("show security ike active-peer", "get-ike-active-peers-information", "brief detail", {}, "peer-address"),
    _c("show security ipsec security-associations", "get-security-associations-information", "brief detail",
       {"index": "show-index-ipsec-security-association", "family": "family", "fpc": "fpc", "pic": "pic"}),
    _c("show security ipsec statistics", "get-ipsec-statistics-information", "",
       {"index": "show-index-ipsec-statistics", "fpc": "fpc", "pic": "pic"}),
    _c("show security ipsec inactive-tunnels", "get-inactive-tunnels", "brief detail"),
    _c("show security ipsec next-hop-tunnels", "get-ipsec-next-hop-tunnel-information", "", {}, "interface-name"),
    _c("clear security ipsec statistics", "clear-ipsec-statistics", "", {"index": "index", "fpc": "fpc", "pic": "pic"}),
    _c("clear security ipsec security-associations", "clear-ipsec-security-association", "", {"index": "index"}),
    _c("clear security ike security-associations", "clear-ike-security-association", "", {"index": "index"},
       "peer-address"),
    _c("show route", "get-route-information", "terse detail extensive brief",
       {"table": "table", "protocol": "protocol"}, "destination"),
)


def _matches(word: str, token: str) -> bool:
    return word == token or (len(token) >= 1 and word.startswith(token))


def _match_row(tokens: list[str]) -> tuple[Command, int] | None:
    """The row whose fixed words match the most leading tokens (exact matches win ties)."""
    best: tuple[int, int, Command] | None = None
    for row in COMMANDS:
        n = len(row.words)
        if len(tokens) < n:
            continue
        if all(_matches(w, t) for w, t in zip(row.words, tokens, strict=False)):
            exact = sum(w == t for w, t in zip(row.words, tokens, strict=False))
            score = (n, exact)
            if best is None or score > best[:2]:
                best = (n, exact, row)
    if best is None:
        return None
    return best[2], best[0]


def split_pipes(text: str) -> tuple[str, list[str]]:
    """``"show x | match y | count"`` -> ``("show x", ["match y", "count"])``."""
    parts = text.split("|")
    return parts[0].strip(), [p.strip() for p in parts[1:] if p.strip()]


def lookup(command: str) -> tuple[Command, list[str]]:
    tokens = command.split()
    if not tokens:
        raise RpcError("syntax error, expecting <command>", bad_element="")
    found = _match_row(tokens)
    if found is None:
        bad = next((t for t in tokens if not any(_matches(w, t) for r in COMMANDS for w in r.words)), tokens[0])
        raise RpcError("syntax error, expecting <command>", bad_element=bad)
    row, used = found
    return row, tokens[used:]


def parse_command(command: str) -> etree._Element:
    """CLI text (without pipes) -> the RPC request element, as ``| display xml rpc`` shows it."""
    row, rest = lookup(command)
    request = etree.Element(row.rpc)
    for name, text in row.fixed:
        etree.SubElement(request, name).text = text
    positional_done = False
    i = 0
    while i < len(rest):
        token = rest[i]
        flag = _unique(token, row.flags)
        value_kw = _unique(token, tuple(row.values))
        if flag and not (value_kw and token == value_kw):
            if request.find(flag) is None:
                etree.SubElement(request, flag)
            i += 1
        elif value_kw:
            if i + 1 >= len(rest):
                raise RpcError(f"syntax error, expecting <{value_kw}>", bad_element=token)
            etree.SubElement(request, row.values[value_kw]).text = rest[i + 1]
            i += 2
        elif row.positional and not positional_done:
            etree.SubElement(request, row.positional).text = token
            positional_done = True
            i += 1
        else:
            raise RpcError("syntax error", bad_element=token)
    for element, other_rpc in row.switch:
        if request.find(element) is not None:
            request.tag = other_rpc
    return request


def _unique(token: str, words: tuple[str, ...]) -> str | None:
    if token in words:
        return token
    found = [w for w in words if w.startswith(token)]
    return found[0] if len(found) == 1 else None
