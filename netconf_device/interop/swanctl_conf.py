"""The Python description of a strongSwan instance and its rendering to strongswan.conf / swanctl.conf.

``CharonSettings`` is the daemon (ports, threads, logging, libipsec); ``Connection`` with its ``Child`` ren is
one swanctl connection. The same description renders to swanctl.conf text (``render_swanctl_conf``) and to
vici ``load-conn`` messages (``Connection.to_vici``) for bulk loading.

Facts of charon 5.9.8 + kernel-libipsec that shape the defaults (see docs/interop-strongswan.md):
* kernel-netlink cannot be left out (charon needs its kernel-net part), its XFRM part just fails to load;
* ESP is always UDP-encapsulated (libipsec), so NAT-T is faked and IKE floats to ``port_nat_t``;
* with kernel-libipsec, fewer than 10 threads starve charon (8 are long-running jobs): we refuse them;
* MOBIKE is off by default: it advertises every host address, which is noise in tests.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from netconf_device.interop.certs import CertBundle

# what a Debian 12 charon needs for IKEv2 with PSK/RSA/ECDSA, the seed's algorithms, libipsec and vici
DEFAULT_PLUGINS: tuple[str, ...] = (
    "random", "nonce", "openssl", "aes", "sha1", "sha2", "md5", "hmac", "gcm", "ccm", "ctr", "chapoly",
    "cmac", "xcbc", "pem", "pkcs1", "pkcs8", "x509", "pubkey", "revocation", "constraints", "curve25519",
    "gmp", "mgf1", "kdf", "drbg", "socket-default", "kernel-libipsec", "kernel-netlink", "vici",
)
# swanctl only parses credentials and talks vici
SWANCTL_PLUGINS: tuple[str, ...] = ("random", "nonce", "openssl", "pem", "pkcs1", "pkcs8", "x509", "pubkey")
# ike=4/chd=4 make charon log the IKE and child-SA keys (charon_log.extract_keys needs them); enc=1 the
# "parsed ... request/response" lines, mgr=2 the SPIs at checkin, cfg=1 the selected proposals
KEY_LOG_LEVELS: Mapping[str, int] = {
    "default": 1, "ike": 4, "chd": 4, "cfg": 2, "knl": 2, "net": 2, "enc": 1, "mgr": 2, "esp": 2,
    "job": 1, "lib": 1,
}
QUIET_LOG_LEVELS: Mapping[str, int] = {"default": 0}

Value = str | int | float | bool | list[str] | tuple[str, ...]
Section = Mapping[str, "Value | Section"]

_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_LOG_GROUPS = {
    "default", "dmn", "mgr", "ike", "chd", "job", "cfg", "knl", "net", "asn", "enc", "tnc", "imc", "imv",
    "pts", "tls", "esp", "lib",
}


class ConfigError(ValueError):
    """The Python description cannot be rendered (bad name, value, or combination)."""


def _check_name(name: str, what: str) -> str:
    if not _NAME_RE.match(name or ""):
        raise ConfigError(f"invalid {what} name {name!r}: letters, digits, '_', '-', '.'")
    return name


def _hex_secret(secret: str | bytes) -> str:
    """PSKs go in as 0x-hex so no quoting rule of the settings parser can alter them."""
    data = secret.encode() if isinstance(secret, str) else bytes(secret)
    if not data:
        raise ConfigError("empty pre-shared key")
    return "0x" + data.hex()


def _format_scalar(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    if "\n" in text or "\r" in text or "\0" in text:
        raise ConfigError(f"value {text!r} contains a line break or NUL")
    if text == "" or text != text.strip() or any(c in text for c in '#{}"\\='):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def _format_value(value: Value) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(_format_scalar(v) for v in value)
    return _format_scalar(value)


def render_settings(section: Section, indent: int = 0) -> str:
    """Render nested mappings in strongSwan's settings syntax (strongswan.conf and swanctl.conf)."""
    pad = "    " * indent
    out = []
    for key, value in section.items():
        if not re.match(r"^[A-Za-z0-9_*.-][A-Za-z0-9_*.-]*$", key):
            raise ConfigError(f"invalid settings key {key!r}")
        if isinstance(value, Mapping):
            out.append(f"{pad}{key} {{\n{render_settings(value, indent + 1)}{pad}}}\n")
        elif value is not None:
            out.append(f"{pad}{key} = {_format_value(value)}\n")
    return "".join(out)


# ------------------------------------------------------------------------------------------ charon
@dataclass(frozen=True)
class CharonSettings:
    """The ``charon`` section of one instance's strongswan.conf.

    ``port``/``port_nat_t``: IKE ports. strongSwan frames IKE with the non-ESP marker whenever neither UDP
    port is 500, and floats its own port to ``port_nat_t`` (always, because libipsec forces UDP encap).
    For many tunnels between the same two addresses set ``reuse_ikesa=False`` (else children share one
    IKE_SA), ``dos_protection=False`` (else per-IP cookie/block thresholds) and ``unique="never"`` on the
    connection (else INITIAL_CONTACT deletes the others).
    """

    port: int = 500
    port_nat_t: int = 4500
    threads: int = 16
    log_levels: Mapping[str, int] = field(default_factory=lambda: dict(KEY_LOG_LEVELS))
    retransmit_timeout: float = 2.0
    retransmit_tries: int = 3
    retransmit_base: float = 1.4
    reuse_ikesa: bool = True
    dos_protection: bool = True
    cookie_threshold: int = 1000
    init_limit_half_open: int = 0
    routing_table: int = 220
    routing_table_prio: int = 220
    interfaces_use: tuple[str, ...] = ()
    allow_peer_ts: bool = False
    plugins: tuple[str, ...] = DEFAULT_PLUGINS
    extra: Mapping[str, Value | Section] = field(default_factory=dict)

    def validate(self) -> None:
        for p in (self.port, self.port_nat_t):
            if not 1 <= int(p) <= 65535:
                raise ConfigError(f"port {p} out of range")
        if self.port == self.port_nat_t:
            raise ConfigError("port and port_nat_t must differ")
        if self.threads < 10:
            raise ConfigError(
                "threads must be >= 10: charon with kernel-libipsec keeps 8 threads busy with long-running "
                "jobs and hangs (vici never answers) with 8 or fewer"
            )
        for group, level in self.log_levels.items():
            if group not in _LOG_GROUPS:
                raise ConfigError(f"unknown charon log group {group!r}")
            if not -1 <= int(level) <= 4:
                raise ConfigError(f"log level {level} for {group} out of -1..4")

    def to_section(self, *, log_path: str, vici_uri: str) -> dict:
        self.validate()
        charon: dict = {
            "load_modular": False,
            "load": " ".join(self.plugins),
            "port": self.port,
            "port_nat_t": self.port_nat_t,
            "threads": self.threads,
            "install_virtual_ip": False,
            "install_routes": False,
            "routing_table": self.routing_table,
            "routing_table_prio": self.routing_table_prio,
            "retransmit_timeout": self.retransmit_timeout,
            "retransmit_tries": self.retransmit_tries,
            "retransmit_base": self.retransmit_base,
            "reuse_ikesa": self.reuse_ikesa,
            "dos_protection": self.dos_protection,
            "cookie_threshold": self.cookie_threshold,
            "init_limit_half_open": self.init_limit_half_open,
        }
        if self.interfaces_use:
            charon["interfaces_use"] = list(self.interfaces_use)
        charon["filelog"] = {
            "main": {
                "path": log_path,
                "time_format": "%F %T",
                "append": False,
                "flush_line": True,
                "ike_name": True,
                **{g: int(lv) for g, lv in self.log_levels.items()},
            }
        }
        charon["syslog"] = {"daemon": {"default": -1}, "auth": {"default": -1}}
        charon["plugins"] = {
            "vici": {"socket": vici_uri},
            "kernel-libipsec": {"allow_peer_ts": self.allow_peer_ts},
        }
        for key, value in self.extra.items():
            charon[key] = value
        return charon


def render_strongswan_conf(settings: CharonSettings, *, log_path: str, vici_uri: str) -> str:
    """One instance's strongswan.conf (used through STRONGSWAN_CONF; /etc/strongswan.d is never read)."""
    doc = {
        "charon": settings.to_section(log_path=log_path, vici_uri=vici_uri),
        # charon-systemd reads "charon-systemd" first and falls back to "charon"; silence its journal
        "charon-systemd": {"journal": {"default": -1}},
        "swanctl": {"load": " ".join(SWANCTL_PLUGINS), "socket": vici_uri},
    }
    return "# generated by netconf_device.interop; one strongSwan instance\n" + render_settings(doc)


# ------------------------------------------------------------------------------------------ connections
@dataclass(frozen=True)
class Child:
    """One CHILD_SA configuration (swanctl ``children.<name>``). Times are seconds; 0 disables rekeying.

    With kernel-libipsec only tunnel mode has a working data plane, and the traffic selectors must not
    cover the IKE peer (libipsec refuses the route: TS_UNACCEPTABLE); use inner subnets.
    """

    name: str = "net"
    local_ts: tuple[str, ...] = ("dynamic",)
    remote_ts: tuple[str, ...] = ("dynamic",)
    esp_proposals: tuple[str, ...] = ("aes256gcm16",)
    rekey_time: int = 0
    life_time: int | None = None
    rand_time: int | None = None
    mode: Literal["tunnel", "transport"] = "tunnel"
    dpd_action: Literal["clear", "trap", "restart", "none"] = "clear"
    start_action: Literal["none", "trap", "start"] = "none"
    close_action: Literal["none", "trap", "start"] = "none"
    extra: Mapping[str, Value] = field(default_factory=dict)

    def items(self) -> dict:
        _check_name(self.name, "child")
        for ts in (*self.local_ts, *self.remote_ts):
            if ts != "dynamic" and not ts.startswith("%"):
                try:
                    ipaddress.ip_network(ts.split("[", 1)[0], strict=False)
                except ValueError as exc:
                    raise ConfigError(f"child {self.name}: bad traffic selector {ts!r}") from exc
        d: dict = {
            "mode": self.mode,
            "local_ts": list(self.local_ts),
            "remote_ts": list(self.remote_ts),
            "esp_proposals": list(self.esp_proposals),
            "rekey_time": self.rekey_time,
            "dpd_action": self.dpd_action,
            "start_action": self.start_action,
            "close_action": self.close_action,
        }
        if self.life_time is not None:
            d["life_time"] = self.life_time
        if self.rand_time is not None:
            d["rand_time"] = self.rand_time
        d.update(self.extra)
        return d


@dataclass(frozen=True)
class Connection:
    """One IKE connection (swanctl ``connections.<name>``) with its children and credentials.

    ``auth``: "psk" needs ``psk``; "pubkey" needs ``cert`` (own certificate, key and CA chain). IDs default
    to the first local address and to the remote address (or ``%any`` for a responder that accepts anyone).
    A responder has ``remote_addrs=("%any",)``; an initiator a concrete address and is started with
    ``Charon.initiate`` (or a child with ``start_action="start"``).
    """

    name: str = "peer"
    local_addrs: tuple[str, ...] = ("%any",)
    remote_addrs: tuple[str, ...] = ("%any",)
    local_port: int | None = None
    remote_port: int = 500
    proposals: tuple[str, ...] = ("aes256-sha256-modp2048",)
    auth: Literal["psk", "pubkey"] = "psk"
    psk: str | bytes | None = field(default=None, repr=False)
    # swanctl's own auth strings per side, when "psk"/"pubkey" is not precise enough: e.g.
    # "pubkey-sha384", "rsa/pss-sha256", "ecdsa-sha256" (the credentials still follow ``auth``)
    local_auth: str | None = None
    remote_auth: str | None = None
    cert: CertBundle | None = None
    local_id: str | None = None
    remote_id: str | None = None
    encap: bool = False
    mobike: bool = False
    fragmentation: Literal["yes", "no", "accept", "force"] = "yes"
    dpd_delay: int = 0
    rekey_time: int = 0
    reauth_time: int = 0
    over_time: int | None = None
    keyingtries: int = 1
    unique: Literal["no", "never", "keep", "replace"] = "no"
    send_certreq: bool = True
    send_cert: Literal["always", "ifasked", "never"] | None = None
    children: tuple[Child, ...] = (Child(),)
    extra: Mapping[str, Value] = field(default_factory=dict)

    @property
    def effective_local_id(self) -> str:
        if self.local_id:
            return self.local_id
        if self.auth == "pubkey" and self.cert is not None and self.cert.identity:
            return self.cert.identity
        first = self.local_addrs[0] if self.local_addrs else "%any"
        return "%any" if first.startswith("%") else first

    @property
    def effective_remote_id(self) -> str:
        if self.remote_id:
            return self.remote_id
        first = self.remote_addrs[0] if self.remote_addrs else "%any"
        return "%any" if first.startswith("%") else first

    def validate(self) -> None:
        _check_name(self.name, "connection")
        if not self.children:
            raise ConfigError(f"connection {self.name}: at least one child is needed")
        names = [c.name for c in self.children]
        if len(set(names)) != len(names):
            raise ConfigError(f"connection {self.name}: duplicate child names")
        if self.auth == "psk" and not self.psk:
            raise ConfigError(f"connection {self.name}: auth=psk needs a psk")
        if self.auth == "pubkey" and self.cert is None:
            raise ConfigError(f"connection {self.name}: auth=pubkey needs cert (CertBundle)")
        if self.auth not in ("psk", "pubkey"):
            raise ConfigError(f"connection {self.name}: auth must be psk or pubkey")
        for port in (self.local_port, self.remote_port):
            if port is not None and not 1 <= port <= 65535:
                raise ConfigError(f"connection {self.name}: port {port} out of range")

    def _items(self, certs: list[str] | None) -> dict:
        """Settings of this connection; ``certs`` are swanctl.conf file names or vici PEM blobs."""
        self.validate()
        d: dict = {
            "version": 2,
            "local_addrs": list(self.local_addrs),
            "remote_addrs": list(self.remote_addrs),
            "remote_port": self.remote_port,
            "proposals": list(self.proposals),
            "encap": self.encap,
            "mobike": self.mobike,
            "fragmentation": self.fragmentation,
            "dpd_delay": self.dpd_delay,
            "rekey_time": self.rekey_time,
            "reauth_time": self.reauth_time,
            "keyingtries": self.keyingtries,
            "unique": self.unique,
            "send_certreq": self.send_certreq,
            "send_cert": self.send_cert or ("always" if self.auth == "pubkey" else "ifasked"),
        }
        if self.local_port is not None:
            d["local_port"] = self.local_port
        if self.over_time is not None:
            d["over_time"] = self.over_time
        local: dict = {"auth": self.local_auth or self.auth, "id": self.effective_local_id}
        if certs:
            local["certs"] = certs
        d["local"] = local
        d["remote"] = {"auth": self.remote_auth or self.auth, "id": self.effective_remote_id}
        d.update(self.extra)
        d["children"] = {c.name: c.items() for c in self.children}
        return d

    def to_settings(self) -> dict:
        """swanctl.conf form (certificate referenced by file name in the swanctl dir's x509/)."""
        return self._items([f"{self.name}.crt"] if self.cert else None)

    def secret_section(self) -> dict | None:
        """swanctl.conf ``secrets`` entry for the PSK, owned by this connection's IDs."""
        if self.auth != "psk":
            return None
        d: dict = {"secret": _hex_secret(self.psk or b"")}
        if self.effective_local_id != "%any":
            d["id-local"] = self.effective_local_id
        if self.effective_remote_id != "%any":
            d["id-remote"] = self.effective_remote_id
        return d

    def to_vici(self) -> dict:
        """vici ``load-conn`` message body ``{name: {...}}`` (lists stay lists, numbers become strings)."""
        certs = [self.cert.cert_pem.decode()] if self.cert else None
        return {self.name: _stringify(self._items(certs))}

    def vici_shared_secret(self) -> dict | None:
        """vici ``load-shared`` message body for the PSK."""
        if self.auth != "psk":
            return None
        owners = [i for i in (self.effective_local_id, self.effective_remote_id) if i != "%any"]
        return {"id": f"ike-{self.name}", "type": "IKE", "data": self.psk, "owners": owners}


def _stringify(value):
    if isinstance(value, Mapping):
        return {k: _stringify(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_stringify(v) for v in value]
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def render_swanctl_conf(connections: Iterable[Connection]) -> str:
    """swanctl.conf with ``connections`` and ``secrets`` (PSKs as hex); certificates are files next to it
    (see ``Charon.load``)."""
    conns = list(connections)
    for c in conns:
        c.validate()
    names = [c.name for c in conns]
    if len(set(names)) != len(names):
        raise ConfigError("duplicate connection names")
    secrets = {}
    for c in conns:
        sec = c.secret_section()
        if sec is not None:
            secrets[f"ike-{c.name}"] = sec
    doc: dict = {"connections": {c.name: c.to_settings() for c in conns}}
    if secrets:
        doc["secrets"] = secrets
    return "# generated by netconf_device.interop\n" + render_settings(doc)
