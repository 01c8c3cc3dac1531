"""Lab topology files (``labs/<name>/lab.yaml``): loading and validation.

A topology names devices (emulated MX routers, one process each), hosts (emulated, or network namespaces
when root), links between device interfaces (UDP wires) and external peers (a real strongSwan in a
namespace, attached to a device interface by a TUN device). ``load_topology`` returns frozen objects or
raises :class:`TopologyError` listing *every* problem with its line in the file. See ``docs/labs.md``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

LAB_FILE = "lab.yaml"
DEFAULT_MODEL = "MX304"
DEFAULT_USER = "lab"
DEFAULT_PASSWORD = "lab123"
MODELS = ("MX304",)
PEER_KINDS = ("strongswan",)
LOG_LEVELS = ("debug", "info", "warning", "error")
MAX_OWNED = 65536  # addresses a host may own through `owns` (an emulated host keeps them in a set)

#: Physical interfaces a wire can attach to (the MX304's Ethernet ports; xe-/ge- for other line cards).
_IFD = re.compile(r"^(et|xe|ge)-\d{1,2}/\d{1,2}/\d{1,3}(:\d{1,2})?$|^(fxp0|em\d)$")
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,19}$")
_PARAM = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class TopologyError(ValueError):
    """A topology file that cannot be used; ``problems`` lists each one as ``FILE:LINE: where: what``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Endpoint:
    """``DEVICE:IFD``; ``ifd`` is None for a peer attachment without an interface (``swan``)."""

    node: str
    ifd: str | None

    def __str__(self) -> str:
        return f"{self.node}:{self.ifd}" if self.ifd else self.node


@dataclass(frozen=True)
class GeneratedConfig:
    """A configuration produced by a script in the lab directory (its standard output is the config)."""

    script: Path
    args: tuple[str, ...] = ()
    suffix: str = ".set"


@dataclass(frozen=True)
class DeviceSpec:
    name: str
    config: Path | GeneratedConfig | None
    model: str = DEFAULT_MODEL
    port: int | None = None  # fixed NETCONF port; None: any free port
    user: str = DEFAULT_USER
    password: str = field(default=DEFAULT_PASSWORD, repr=False)
    log_level: str = "info"


@dataclass(frozen=True)
class HostSpec:
    name: str
    attach: Endpoint
    addresses: tuple[ipaddress.IPv4Interface | ipaddress.IPv6Interface, ...]
    gateways: tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...] = ()  # one per address family
    netns: bool = False
    # networks the host answers for in full, besides its addresses (e.g. the inner addresses of many
    # tunnels); a ping can use any of them as its source
    owns: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()


@dataclass(frozen=True)
class LinkSpec:
    a: Endpoint
    b: Endpoint

    @property
    def name(self) -> str:
        return f"{self.a}--{self.b}"


@dataclass(frozen=True)
class PeerConnection:
    """The strongSwan side of the tunnel (swanctl terms)."""

    remote: str  # the device's address
    psk: str = field(repr=False)
    ike: str = "aes256-sha256-ecp256"
    esp: str = "aes256gcm16"
    local_ts: tuple[str, ...] = ()
    remote_ts: tuple[str, ...] = ()
    initiate: bool = False  # charon initiates (else it waits for the device)
    dpd_delay: int = 0
    rekey_time: int = 0


@dataclass(frozen=True)
class PeerSpec:
    name: str
    kind: str
    attach: Endpoint  # the device interface the peer's TUN connects to
    address: ipaddress.IPv4Interface | ipaddress.IPv6Interface  # the peer's address on that TUN
    lan: ipaddress.IPv4Interface | ipaddress.IPv6Interface | None  # the peer's address towards its hosts
    connection: PeerConnection


@dataclass(frozen=True)
class Topology:
    name: str
    directory: Path
    file: Path
    description: str = ""
    params: dict[str, str] = field(default_factory=dict)
    devices: dict[str, DeviceSpec] = field(default_factory=dict)
    hosts: dict[str, HostSpec] = field(default_factory=dict)
    links: tuple[LinkSpec, ...] = ()
    peers: dict[str, PeerSpec] = field(default_factory=dict)

    @property
    def needs_root(self) -> bool:
        return bool(self.peers) or any(h.netns for h in self.hosts.values())

    def with_netns_hosts(self) -> Topology:
        """The same lab with every host in a network namespace (``lab up --netns-hosts``)."""
        hosts = {n: HostSpec(h.name, h.attach, h.addresses, h.gateways, True, h.owns) for n, h in self.hosts.items()}
        return Topology(self.name, self.directory, self.file, self.description, dict(self.params),
                        dict(self.devices), hosts, self.links, dict(self.peers))


# ------------------------------------------------------------------------------------- YAML with lines
class _Mapping(dict):
    """A YAML mapping that remembers the line of each key (for error messages)."""

    line: int = 0
    key_lines: dict

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class _List(list):
    line: int = 0
    item_lines: list


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps line numbers and refuses duplicate keys (PyYAML keeps the last silently)."""

    duplicates: list[tuple[int, str]]


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> _Mapping:
    loader.flatten_mapping(node)
    result = _Mapping()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise yaml.constructor.ConstructorError(None, None, "unhashable key", key_node.start_mark)
        if key in result:
            loader.duplicates.append((key_node.start_mark.line + 1, str(key)))
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> _List:
    result = _List(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


# ------------------------------------------------------------------------------------- validation
class _Checker:
    """Walks the parsed file, collecting problems instead of stopping at the first one."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.problems: list[str] = []

    def error(self, line: int, where: str, what: str) -> None:
        self.problems.append(f"{self.file}:{line}: {where}: {what}")

    def mapping(self, value: Any, line: int, where: str, allowed: tuple[str, ...],
                required: tuple[str, ...] = ()) -> _Mapping | None:
        if value is None:
            value = _Mapping()
            value.line, value.key_lines = line, {}
        if not isinstance(value, _Mapping):
            self.error(line, where, f"expected a mapping, got {_kind(value)}")
            return None
        for key in value:
            if key not in allowed:
                hint = _close_match(str(key), allowed)
                self.error(value.line_of(key), f"{where}.{key}",
                           f"unknown key{hint} (allowed: {', '.join(allowed)})")
        for key in required:
            if key not in value:
                self.error(value.line, where, f"missing required key '{key}'")
        return value

    def string(self, m: _Mapping, key: str, where: str, default: str | None = None) -> str | None:
        if key not in m:
            return default
        value = m[key]
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.error(m.line_of(key), f"{where}.{key}", f"expected a string, got {_kind(value)}")
            return default
        return str(value)

    def boolean(self, m: _Mapping, key: str, where: str, default: bool = False) -> bool:
        if key not in m:
            return default
        value = m[key]
        if not isinstance(value, bool):
            self.error(m.line_of(key), f"{where}.{key}", f"expected true or false, got {value!r}")
            return default
        return value

    def integer(self, m: _Mapping, key: str, where: str, low: int, high: int) -> int | None:
        if key not in m:
            return None
        value = m[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.error(m.line_of(key), f"{where}.{key}", f"expected an integer {low}..{high}, got {value!r}")
            return None
        return value

    def strings(self, m: _Mapping, key: str, where: str) -> list[tuple[str, int]]:
        """A string or a list of strings, with each one's line."""
        if key not in m:
            return []
        value, line = m[key], m.line_of(key)
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return [(str(value), line)]
        if isinstance(value, _List):
            out = []
            for item, item_line in zip(value, value.item_lines, strict=True):
                if isinstance(item, bool) or not isinstance(item, (str, int, float)):
                    self.error(item_line, f"{where}.{key}", f"expected a string, got {_kind(item)}")
                else:
                    out.append((str(item), item_line))
            return out
        self.error(line, f"{where}.{key}", f"expected a string or a list of strings, got {_kind(value)}")
        return []


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def _close_match(word: str, choices: tuple[str, ...]) -> str:
    import difflib

    match = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean '{match[0]}'?)" if match else ""


def resolve_lab_file(path: str | Path) -> Path:
    """``labs/mx304-p2p`` -> ``labs/mx304-p2p/lab.yaml``; a file path is taken as is."""
    p = Path(path)
    if p.is_dir():
        p = p / LAB_FILE
    if not p.is_file():
        raise TopologyError([f"{p}: no such lab file (a lab is a directory with {LAB_FILE}, or a YAML file)"])
    return p.resolve()


def load_topology(path: str | Path, params: dict[str, str] | None = None) -> Topology:
    """Parse and validate a lab file (or a lab directory). ``params`` override the file's ``params``."""
    file = resolve_lab_file(path)
    loader_text = file.read_text()
    loader = _Loader(loader_text)
    loader.duplicates = []
    try:
        doc = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"{mark.line + 1}" if mark else "?"
        raise TopologyError([f"{file}:{line}: not valid YAML: {getattr(exc, 'problem', None) or exc}"]) from None
    finally:
        loader.dispose()
    check = _Checker(file)
    for line, key in loader.duplicates:
        check.error(line, key, "defined twice (each name may appear once)")
    top = check.mapping(doc, 1, "lab", ("name", "description", "params", "defaults", "devices", "hosts", "links",
                                         "peers"), required=("devices",))
    if top is None:
        raise TopologyError(check.problems)
    name = check.string(top, "name", "lab") or file.parent.name
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", name):
        check.error(top.line_of("name"), "lab.name", f"{name!r}: letters, digits, '.', '_' and '-' only")
    merged_params = _params(check, top)
    for key, value in (params or {}).items():
        if key not in merged_params:
            check.problems.append(f"{file}: parameter {key!r} is not declared in params "
                                  f"(declared: {', '.join(merged_params) or 'none'})")
        merged_params[key] = str(value)
    defaults = check.mapping(top.get("defaults"), top.line_of("defaults"), "defaults",
                             ("model", "user", "password", "log_level")) or _Mapping()
    devices = _devices(check, top, defaults, file.parent, merged_params)
    used: dict[tuple[str, str], str] = {}  # (device, ifd) -> who uses it
    peers = _peers(check, top, devices, used)
    hosts = _hosts(check, top, devices, peers, used)
    links = _links(check, top, devices, used)
    node_names = list(devices) + list(hosts) + list(peers)
    for node in set(node_names):
        if node_names.count(node) > 1:
            check.problems.append(f"{file}: name {node!r} is used by more than one device, host or peer")
    if check.problems:
        raise TopologyError(check.problems)
    return Topology(name=name, directory=file.parent, file=file, description=check.string(top, "description", "lab", "") or "",
                    params=merged_params, devices=devices, hosts=hosts, links=tuple(links), peers=peers)


def _params(check: _Checker, top: _Mapping) -> dict[str, str]:
    raw = check.mapping(top.get("params"), top.line_of("params"), "params", tuple(top.get("params") or ()))
    out = {}
    for key, value in (raw or {}).items():
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", str(key)):
            check.error(raw.line_of(key), f"params.{key}", "parameter names are letters, digits and '_'")
        elif isinstance(value, (dict, list)) or value is None:
            check.error(raw.line_of(key), f"params.{key}", f"expected a scalar value, got {_kind(value)}")
        else:
            out[str(key)] = str(value)
    return out


def _substitute(check: _Checker, text: str, params: dict[str, str], line: int, where: str) -> str:
    def replace(match: re.Match) -> str:
        if match.group(1) not in params:
            check.error(line, where, f"unknown parameter ${{{match.group(1)}}} (declare it under params)")
            return match.group(0)
        return params[match.group(1)]

    return _PARAM.sub(replace, text)


def _named_section(check: _Checker, top: _Mapping, key: str) -> _Mapping:
    section = top.get(key)
    if section is None:
        return _Mapping()
    if not isinstance(section, _Mapping):
        check.error(top.line_of(key), key, f"expected a mapping of name -> settings, got {_kind(section)}")
        return _Mapping()
    for name in section:
        if not isinstance(name, str) or not _NAME.match(name):
            check.error(section.line_of(name), f"{key}.{name}",
                        "names are 1-20 lowercase letters, digits, '-' or '_', starting with a letter")
    return section


def _devices(check: _Checker, top: _Mapping, defaults: _Mapping, lab_dir: Path,
             params: dict[str, str]) -> dict[str, DeviceSpec]:
    section = _named_section(check, top, "devices")
    if not section and "devices" in top:
        check.error(top.line_of("devices"), "devices", "a lab needs at least one device")
    default_model = check.string(defaults, "model", "defaults", DEFAULT_MODEL)
    default_user = check.string(defaults, "user", "defaults", DEFAULT_USER)
    default_password = check.string(defaults, "password", "defaults", DEFAULT_PASSWORD)
    default_log_level = check.string(defaults, "log_level", "defaults", "info")
    devices = {}
    for name, raw in section.items():
        where = f"devices.{name}"
        m = check.mapping(raw, section.line_of(name), where, ("model", "config", "port", "user", "password",
                                                               "log_level"))
        if m is None:
            continue
        model = (check.string(m, "model", where, default_model) or DEFAULT_MODEL).upper()
        if model not in MODELS:
            check.error(m.line_of("model"), f"{where}.model", f"unknown model {model!r} (known: {', '.join(MODELS)})")
        config = _device_config(check, m, where, lab_dir, params)
        port = check.integer(m, "port", where, 1, 65535)
        user = check.string(m, "user", where, default_user) or DEFAULT_USER
        password = check.string(m, "password", where, default_password) or DEFAULT_PASSWORD
        if ":" in user or not user.strip():
            check.error(m.line_of("user"), f"{where}.user", f"{user!r} is not a valid login name")
        log_level = check.string(m, "log_level", where, default_log_level) or "info"
        if log_level not in LOG_LEVELS:
            check.error(m.line_of("log_level"), f"{where}.log_level", f"{log_level!r}: one of {', '.join(LOG_LEVELS)}")
            log_level = "info"
        devices[name] = DeviceSpec(name, config, model, port, user, password, log_level)
    return devices


def _device_config(check: _Checker, m: _Mapping, where: str, lab_dir: Path,
                   params: dict[str, str]) -> Path | GeneratedConfig | None:
    if "config" not in m:
        return None
    value, line = m["config"], m.line_of("config")
    if isinstance(value, str):
        path = (lab_dir / value).resolve()
        if not path.is_file():
            check.error(line, f"{where}.config", f"file {value!r} not found in {lab_dir}")
        return path
    g = check.mapping(value, line, f"{where}.config", ("generate", "args", "format"), required=("generate",))
    if g is None:
        return None
    script = check.string(g, "generate", f"{where}.config")
    if script is None:
        return None
    path = (lab_dir / script).resolve()
    if not path.is_file():
        check.error(g.line_of("generate"), f"{where}.config.generate", f"script {script!r} not found in {lab_dir}")
    args = tuple(_substitute(check, arg, params, arg_line, f"{where}.config.args")
                 for arg, arg_line in check.strings(g, "args", f"{where}.config"))
    fmt = check.string(g, "format", f"{where}.config", "set")
    if fmt not in ("set", "text", "xml", "json"):
        check.error(g.line_of("format"), f"{where}.config.format", f"{fmt!r}: one of set, text, xml, json")
        fmt = "set"
    return GeneratedConfig(path, args, "." + ("conf" if fmt == "text" else fmt))


def _endpoint(check: _Checker, text: str, line: int, where: str, devices: dict, *,
              allow_nodes: dict | None = None) -> Endpoint | None:
    node, sep, ifd = text.partition(":")
    if not sep:
        if allow_nodes is not None and node in allow_nodes:
            return Endpoint(node, None)
        check.error(line, where, f"{text!r}: expected DEVICE:INTERFACE (e.g. peer1:et-0/1/8)")
        return None
    if node not in devices:
        known = ", ".join(devices) or "none"
        check.error(line, where, f"{text!r}: no device named {node!r} (devices: {known})")
        return None
    if not _IFD.match(ifd):
        check.error(line, where, f"{text!r}: {ifd!r} is not a physical interface name like et-0/1/8")
        return None
    return Endpoint(node, ifd)


def _claim(check: _Checker, used: dict, endpoint: Endpoint, line: int, where: str, who: str) -> None:
    key = (endpoint.node, endpoint.ifd)
    if endpoint.ifd is None:
        return
    if key in used:
        check.error(line, where, f"{endpoint} is already used by {used[key]} (one wire per interface)")
    else:
        used[key] = who


def _interface(check: _Checker, text: str, line: int, where: str):
    try:
        return ipaddress.ip_interface(text)
    except ValueError:
        check.error(line, where, f"{text!r} is not an address with a prefix length (e.g. 1.1.1.2/24)")
        return None


def _hosts(check: _Checker, top: _Mapping, devices: dict, peers: dict, used: dict) -> dict[str, HostSpec]:
    section = _named_section(check, top, "hosts")
    hosts = {}
    for name, raw in section.items():
        where = f"hosts.{name}"
        m = check.mapping(raw, section.line_of(name), where, ("attach", "addresses", "address", "gateway", "netns",
                                                               "owns"), required=("attach",))
        if m is None or "attach" not in m:
            continue
        attach_text = check.string(m, "attach", where) or ""
        attach = _endpoint(check, attach_text, m.line_of("attach"), f"{where}.attach", devices, allow_nodes=peers)
        if attach is not None:
            _claim(check, used, attach, m.line_of("attach"), f"{where}.attach", f"host {name}")
        addresses = []
        given = check.strings(m, "addresses", where) + check.strings(m, "address", where)
        for text, line in given:
            iface = _interface(check, text, line, f"{where}.addresses")
            if iface is not None:
                addresses.append(iface)
        if not given:
            check.error(m.line, where, "a host needs at least one address (addresses: [1.1.1.2/24])")
        gateways = []
        for text, line in check.strings(m, "gateway", where):
            try:
                gateway = ipaddress.ip_address(text)
            except ValueError:
                check.error(line, f"{where}.gateway", f"{text!r} is not an IP address")
                continue
            if addresses and not any(gateway in a.network for a in addresses if a.version == gateway.version):
                nets = ", ".join(str(a) for a in addresses)
                check.error(line, f"{where}.gateway", f"{gateway} is not in any of the host's subnets ({nets})")
            gateways.append(gateway)
        owns = []
        for text, line in check.strings(m, "owns", where):
            try:
                network = ipaddress.ip_network(text)
            except ValueError:
                check.error(line, f"{where}.owns", f"{text!r} is not a network (e.g. 10.1.0.0/21)")
                continue
            if network.num_addresses > MAX_OWNED:
                check.error(line, f"{where}.owns", f"{network} has more than {MAX_OWNED} addresses")
                continue
            owns.append(network)
        netns = check.boolean(m, "netns", where, False)
        if attach is not None and attach.ifd is None:
            netns = True  # behind an external peer: a namespace on a veth to the peer's namespace
            peer = peers[attach.node]
            if peer.lan is None:
                check.error(m.line_of("attach"), f"{where}.attach",
                            f"peer {attach.node} has no 'lan' address for hosts to attach to")
        hosts[name] = HostSpec(name, attach or Endpoint("?", None), tuple(addresses), tuple(gateways), netns,
                               tuple(owns))
    return hosts


def _links(check: _Checker, top: _Mapping, devices: dict, used: dict) -> list[LinkSpec]:
    raw = top.get("links")
    if raw is None:
        return []
    if not isinstance(raw, _List):
        check.error(top.line_of("links"), "links", f"expected a list of links, got {_kind(raw)}")
        return []
    links = []
    for index, (item, line) in enumerate(zip(raw, raw.item_lines, strict=True)):
        where = f"links[{index}]"
        if isinstance(item, str):
            ends = item.replace("<->", " ").replace("--", " ").split()
        elif isinstance(item, _List) and all(isinstance(e, str) for e in item):
            ends = list(item)
        else:
            check.error(line, where, "expected 'DEV:IFD DEV:IFD' or [DEV:IFD, DEV:IFD]")
            continue
        if len(ends) != 2:
            check.error(line, where, f"a link joins exactly two interfaces, got {len(ends)}")
            continue
        a = _endpoint(check, ends[0], line, where, devices)
        b = _endpoint(check, ends[1], line, where, devices)
        if a is None or b is None:
            continue
        if a.node == b.node:
            check.error(line, where, f"both ends are on device {a.node}; a link joins two devices")
            continue
        _claim(check, used, a, line, where, f"link {a}--{b}")
        _claim(check, used, b, line, where, f"link {a}--{b}")
        links.append(LinkSpec(a, b))
    return links


def _peers(check: _Checker, top: _Mapping, devices: dict, used: dict) -> dict[str, PeerSpec]:
    section = _named_section(check, top, "peers")
    peers = {}
    for name, raw in section.items():
        where = f"peers.{name}"
        m = check.mapping(raw, section.line_of(name), where, ("kind", "attach", "address", "lan", "connection"),
                          required=("kind", "attach", "address", "connection"))
        if m is None or any(k not in m for k in ("kind", "attach", "address", "connection")):
            continue
        kind = check.string(m, "kind", where)
        if kind not in PEER_KINDS:
            check.error(m.line_of("kind"), f"{where}.kind", f"{kind!r}: known kinds: {', '.join(PEER_KINDS)}")
        attach = _endpoint(check, check.string(m, "attach", where) or "", m.line_of("attach"), f"{where}.attach",
                           devices)
        if attach is not None:
            _claim(check, used, attach, m.line_of("attach"), f"{where}.attach", f"peer {name}")
        address = _interface(check, check.string(m, "address", where) or "", m.line_of("address"), f"{where}.address")
        lan = None
        if "lan" in m:
            lan = _interface(check, check.string(m, "lan", where) or "", m.line_of("lan"), f"{where}.lan")
        c = check.mapping(m["connection"], m.line_of("connection"), f"{where}.connection",
                          ("remote", "psk", "ike", "esp", "local_ts", "remote_ts", "initiate", "dpd_delay",
                           "rekey_time"), required=("remote", "psk"))
        if c is None or attach is None or address is None:
            continue
        cw = f"{where}.connection"
        remote = check.string(c, "remote", cw) or ""
        try:
            ipaddress.ip_address(remote)
        except ValueError:
            check.error(c.line_of("remote"), f"{cw}.remote", f"{remote!r} is not an IP address")
        selectors = {}
        for key in ("local_ts", "remote_ts"):
            nets = []
            for text, line in check.strings(c, key, cw):
                try:
                    nets.append(str(ipaddress.ip_network(text, strict=False)))
                except ValueError:
                    check.error(line, f"{cw}.{key}", f"{text!r} is not a network (e.g. 2.2.2.0/24)")
            selectors[key] = tuple(nets)
        connection = PeerConnection(
            remote=remote, psk=check.string(c, "psk", cw) or "", ike=check.string(c, "ike", cw, "aes256-sha256-ecp256"),
            esp=check.string(c, "esp", cw, "aes256gcm16"), local_ts=selectors["local_ts"],
            remote_ts=selectors["remote_ts"], initiate=check.boolean(c, "initiate", cw, False),
            dpd_delay=check.integer(c, "dpd_delay", cw, 0, 3600) or 0,
            rekey_time=check.integer(c, "rekey_time", cw, 0, 86400 * 7) or 0)
        peers[name] = PeerSpec(name, kind or "strongswan", attach, address, lan, connection)
    return peers
