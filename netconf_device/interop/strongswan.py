"""One strongSwan charon (5.9, kernel-libipsec) as an IKEv2/ESP interop peer.

``Charon(workdir, name, netns=...)`` owns an instance directory (mode 0700) with its own strongswan.conf
(``STRONGSWAN_CONF``), swanctl directory (``SWANCTL_DIR``), vici socket and file log, so several instances
run at once. It starts ``charon-systemd`` (the classic ``charon`` insists on /var/run/charon.pid and would
refuse a second instance) inside a network namespace, or in ours bound to loopback with custom ports.

Control is through ``swanctl`` (initiate, rekey, terminate, list-sas) and, for bulk work, ``vici()``.
Secrets (PSKs, private keys, the key-logging charon.log) stay inside the instance directory; this module
never logs them.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import subprocess
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from netconf_device.interop import netns as netns_mod
from netconf_device.interop.charon_log import CharonKeys, extract_keys
from netconf_device.interop.swanctl_conf import (
    CharonSettings,
    Connection,
    render_strongswan_conf,
    render_swanctl_conf,
)
from netconf_device.interop.vici import ViciClient

log = logging.getLogger("netconf_device.interop.strongswan")

T = TypeVar("T")
CHARON_CANDIDATES = ("/usr/sbin/charon-systemd", "/usr/lib/ipsec/charon-systemd")
_SUN_PATH_MAX = 107


class StrongswanError(RuntimeError):
    """charon failed to start, a swanctl command failed, or an SA did not appear in time."""


def find_charon() -> str:
    """Path of charon-systemd (several instances can run at once only with it: it writes no pid file)."""
    env = os.environ.get("NETCONF_DEVICE_CHARON")
    for path in ((env,) if env else ()) + CHARON_CANDIDATES:
        if path and os.access(path, os.X_OK):
            return path
    found = shutil.which("charon-systemd")
    if found:
        return found
    raise StrongswanError("charon-systemd not found (Debian: apt-get install charon-systemd)")


def find_swanctl() -> str:
    found = shutil.which("swanctl")
    if not found:
        raise StrongswanError("swanctl not found (Debian: apt-get install strongswan-swanctl)")
    return found


def strongswan_available() -> str | None:
    """None when charon-systemd, swanctl and kernel-libipsec are installed, else the reason they are not."""
    try:
        find_charon()
        find_swanctl()
    except StrongswanError as exc:
        return str(exc)
    if not any(Path(d, "libstrongswan-kernel-libipsec.so").exists()
               for d in ("/usr/lib/ipsec/plugins", "/usr/lib/x86_64-linux-gnu/ipsec/plugins")):
        return "kernel-libipsec plugin missing (Debian: apt-get install libcharon-extra-plugins)"
    return None


# ------------------------------------------------------------------------------------------ SA listing
@dataclass(frozen=True)
class ChildSaInfo:
    """One CHILD_SA as ``swanctl --list-sas`` reports it. SPIs are ints; bytes/packets are counters of
    authenticated packets (libipsec counts after the ICV check)."""

    name: str
    uniqueid: int
    reqid: int
    state: str
    mode: str
    protocol: str
    encap: bool
    spi_in: int
    spi_out: int
    encr_alg: str
    encr_keysize: int | None
    integ_alg: str | None
    dh_group: str | None
    bytes_in: int
    packets_in: int
    bytes_out: int
    packets_out: int
    rekey_time: int | None
    life_time: int | None
    install_time: int | None
    local_ts: tuple[str, ...]
    remote_ts: tuple[str, ...]
    raw: dict = field(repr=False, compare=False)


@dataclass(frozen=True)
class IkeSaInfo:
    """One IKE_SA as ``swanctl --list-sas`` reports it, with its CHILD_SAs."""

    name: str
    uniqueid: int
    version: int
    state: str
    local_host: str
    local_port: int
    local_id: str
    remote_host: str
    remote_port: int
    remote_id: str
    initiator: bool
    spi_i: int
    spi_r: int
    nat_local: bool
    nat_remote: bool
    nat_any: bool
    encr_alg: str | None
    encr_keysize: int | None
    integ_alg: str | None
    prf_alg: str | None
    dh_group: str | None
    established: int | None
    rekey_time: int | None
    reauth_time: int | None
    children: tuple[ChildSaInfo, ...]
    raw: dict = field(repr=False, compare=False)


# level-4 dumps ("Sk_ei secret => 32 bytes @ 0x..", "   0: 0A 1B ...") and the AUTH inputs
_SECRET_LINE = re.compile(r"=> \d+ bytes @|\] (?:<[^>]*> )?\s*\d+: [0-9A-F]{2}( |$)")
_PRETTY_SECTION = re.compile(r"^(\S+) \{$")
_PRETTY_LIST = re.compile(r"^(\S+) = \[$")
_PRETTY_KV = re.compile(r"^(\S+) = (.*)$")


def parse_pretty(text: str) -> list[tuple[str, dict]]:
    """Parse ``swanctl --pretty`` output (one ``<event> {`` block per streamed item) into
    ``[(event_name, body_dict)]``. Values are strings, lists are lists of strings."""
    items: list[tuple[str, dict]] = []
    stack: list[dict] = []
    current_list: list[str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if current_list is not None:
            if line == "]":
                current_list = None
            else:
                current_list.append(line)
            continue
        if not stack:
            m = re.match(r"^(\S+) event \{$", line) or re.match(r"^(\S+) reply \{$", line)
            if m:
                body: dict = {}
                items.append((m.group(1), body))
                stack.append(body)
            continue
        if line == "}":
            stack.pop()
            continue
        m = _PRETTY_SECTION.match(line)
        if m:
            child: dict = {}
            stack[-1][m.group(1)] = child
            stack.append(child)
            continue
        m = _PRETTY_LIST.match(line)
        if m:
            current_list = []
            stack[-1][m.group(1)] = current_list
            continue
        m = _PRETTY_KV.match(line)
        if m:
            stack[-1][m.group(1)] = m.group(2)
            continue
        raise StrongswanError(f"unparseable swanctl --pretty line: {raw!r}")
    if stack:
        raise StrongswanError("swanctl --pretty output ended inside a section")
    return items


def _int(d: dict, key: str, default: int | None = None) -> int | None:
    v = d.get(key)
    if v is None or v == "":
        return default
    try:
        return int(v, 0) if isinstance(v, str) and v.startswith("0x") else int(v)
    except ValueError:
        return default


def _hexint(v: Any) -> int:
    return int(str(v), 16) if v else 0


def _child_from_raw(d: dict) -> ChildSaInfo:
    return ChildSaInfo(
        name=d.get("name", ""),
        uniqueid=_int(d, "uniqueid", 0) or 0,
        reqid=_int(d, "reqid", 0) or 0,
        state=d.get("state", ""),
        mode=d.get("mode", ""),
        protocol=d.get("protocol", ""),
        encap=d.get("encap") == "yes",
        spi_in=_hexint(d.get("spi-in")),
        spi_out=_hexint(d.get("spi-out")),
        encr_alg=d.get("encr-alg", ""),
        encr_keysize=_int(d, "encr-keysize"),
        integ_alg=d.get("integ-alg"),
        dh_group=d.get("dh-group"),
        bytes_in=_int(d, "bytes-in", 0) or 0,
        packets_in=_int(d, "packets-in", 0) or 0,
        bytes_out=_int(d, "bytes-out", 0) or 0,
        packets_out=_int(d, "packets-out", 0) or 0,
        rekey_time=_int(d, "rekey-time"),
        life_time=_int(d, "life-time"),
        install_time=_int(d, "install-time"),
        local_ts=tuple(d.get("local-ts", ())),
        remote_ts=tuple(d.get("remote-ts", ())),
        raw=d,
    )


def ike_sa_from_raw(name: str, d: dict) -> IkeSaInfo:
    """Typed view of one ``list-sa`` item ``{name: body}`` (from swanctl --pretty or vici)."""
    children = tuple(_child_from_raw(c) for c in (d.get("child-sas") or {}).values())
    return IkeSaInfo(
        name=name,
        uniqueid=_int(d, "uniqueid", 0) or 0,
        version=_int(d, "version", 2) or 2,
        state=d.get("state", ""),
        local_host=d.get("local-host", ""),
        local_port=_int(d, "local-port", 0) or 0,
        local_id=d.get("local-id", ""),
        remote_host=d.get("remote-host", ""),
        remote_port=_int(d, "remote-port", 0) or 0,
        remote_id=d.get("remote-id", ""),
        initiator=d.get("initiator") == "yes",
        spi_i=_hexint(d.get("initiator-spi")),
        spi_r=_hexint(d.get("responder-spi")),
        nat_local=d.get("nat-local") == "yes",
        nat_remote=d.get("nat-remote") == "yes",
        nat_any=d.get("nat-any") == "yes",
        encr_alg=d.get("encr-alg"),
        encr_keysize=_int(d, "encr-keysize"),
        integ_alg=d.get("integ-alg"),
        prf_alg=d.get("prf-alg"),
        dh_group=d.get("dh-group"),
        established=_int(d, "established"),
        rekey_time=_int(d, "rekey-time"),
        reauth_time=_int(d, "reauth-time"),
        children=children,
        raw=d,
    )


def parse_list_sas(text: str) -> list[IkeSaInfo]:
    """Parse ``swanctl --list-sas --pretty`` into typed IKE_SAs (each ``list-sa`` event holds one)."""
    out = []
    for event, body in parse_pretty(text):
        if event != "list-sa":
            continue
        for name, sa in body.items():
            if isinstance(sa, dict):
                out.append(ike_sa_from_raw(name, sa))
    return out


# ------------------------------------------------------------------------------------------ instance
class Charon:
    """One charon instance. ``start()`` (or ``with``) runs it; ``stop()``/``close()`` is idempotent and also
    runs from a finalizer, so a forgotten instance does not outlive the test process.

    ``netns``: run inside that network namespace (the recommended mode: full data plane through the
    namespace's kernel). ``None``: run in our namespace; then give ``settings`` custom ports, a
    ``routing_table`` of its own and ``interfaces_use=("lo",)`` (see ``loopback_settings``).
    """

    def __init__(
        self,
        workdir: str | os.PathLike[str],
        name: str,
        *,
        netns: str | None = None,
        settings: CharonSettings | None = None,
        charon_path: str | None = None,
    ) -> None:
        if not re.match(r"^[A-Za-z0-9_.-]+$", name):
            raise ValueError(f"invalid instance name {name!r}")
        self.name = name
        self.netns = netns
        self.settings = settings or CharonSettings()
        self.settings.validate()
        self.dir = Path(workdir).resolve() / name
        self.conf_path = self.dir / "strongswan.conf"
        self.swanctl_dir = self.dir / "swanctl"
        self.log_path = self.dir / "charon.log"
        self.vici_path = self.dir / "charon.vici"
        self.stdout_path = self.dir / "charon.out"
        if len(str(self.vici_path)) > _SUN_PATH_MAX:
            raise ValueError(f"instance path too long for a unix socket: {self.vici_path}")
        self.pid_path = self.dir / "charon.pid"
        self._charon_path = charon_path
        self._proc: subprocess.Popen | None = None
        self._pid: int | None = None  # set for started and for adopted instances
        self._finalizer: weakref.finalize | None = None
        self.connections: tuple[Connection, ...] = ()

    def __repr__(self) -> str:
        return f"Charon({self.name!r}, netns={self.netns!r}, pid={self.pid})"

    # --- lifecycle
    @property
    def pid(self) -> int | None:
        return self._pid

    @property
    def running(self) -> bool:
        if self._proc is not None:
            return self._proc.poll() is None
        return self._pid is not None and _is_our_charon(self._pid, self.conf_path)

    @property
    def env(self) -> dict[str, str]:
        """Environment for swanctl/charon of this instance."""
        return {**os.environ, "STRONGSWAN_CONF": str(self.conf_path), "SWANCTL_DIR": str(self.swanctl_dir)}

    def _prepare_dir(self) -> None:
        old = os.umask(0o077)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            os.chmod(self.dir, 0o700)
            shutil.rmtree(self.swanctl_dir, ignore_errors=True)
            for sub in ("x509", "x509ca", "private"):
                (self.swanctl_dir / sub).mkdir(parents=True)
            (self.swanctl_dir / "swanctl.conf").write_text("# nothing loaded yet\n")
            for p in (self.vici_path, self.log_path):
                p.unlink(missing_ok=True)
            self.conf_path.write_text(
                render_strongswan_conf(self.settings, log_path=str(self.log_path), vici_uri=f"unix://{self.vici_path}")
            )
        finally:
            os.umask(old)

    def start(self, timeout: float = 15.0) -> Charon:
        """Start charon and wait until vici answers. Raises StrongswanError with the log tail on failure."""
        netns_mod.require_root("charon with kernel-libipsec")
        if self.running:
            raise StrongswanError(f"instance {self.name} is already running (pid {self.pid})")
        if self.netns and not netns_mod.exists(self.netns):
            raise StrongswanError(f"network namespace {self.netns!r} does not exist")
        try:
            other = int(self.pid_path.read_text().strip())
        except (FileNotFoundError, ValueError):
            other = None
        if other is not None and _is_our_charon(other, self.conf_path):
            raise StrongswanError(f"instance {self.name} already runs as pid {other} (Charon.adopt it or stop it)")
        charon = self._charon_path or find_charon()
        self._prepare_dir()
        argv = (["ip", "netns", "exec", self.netns] if self.netns else []) + [charon]
        with open(self.stdout_path, "wb") as out:
            self._proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env=self.env, start_new_session=True, cwd=self.dir,
            )
        self._pid = self._proc.pid
        self.pid_path.write_text(f"{self._pid}\n")
        self._finalizer = weakref.finalize(self, _kill_quietly, self._proc)
        log.info("started charon %s pid %d (netns %s, ports %d/%d)", self.name, self._proc.pid,
                 self.netns or "-", self.settings.port, self.settings.port_nat_t)
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                self._proc = self._pid = None
                raise StrongswanError(f"charon {self.name} exited during startup:\n{self._diagnostics()}")
            if self.vici_path.exists():
                try:
                    with ViciClient(str(self.vici_path), timeout=2.0) as v:
                        v.version()
                    break
                except Exception:
                    pass
            if time.monotonic() > deadline:
                self.stop()
                raise StrongswanError(f"charon {self.name} not ready within {timeout}s:\n{self._diagnostics()}")
            time.sleep(0.05)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (charon deletes its IKE_SAs and removes its TUN/routes), SIGKILL after ``timeout``."""
        proc, pid = self._proc, self._pid
        self._proc = self._pid = None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    log.warning("charon %s ignored SIGTERM for %ss; killing it", self.name, timeout)
                    proc.kill()
                    proc.wait(5)
        elif pid is not None and _is_our_charon(pid, self.conf_path):
            _terminate_pid(pid, timeout)
        else:
            return
        self.pid_path.unlink(missing_ok=True)
        log.info("stopped charon %s", self.name)

    close = stop

    def detach(self) -> int:
        """Let charon outlive this object and this process (e.g. ``lab up``); ``Charon.adopt`` finds it
        again from the instance directory. Returns its pid."""
        if self._pid is None or not self.running:
            raise StrongswanError(f"charon {self.name} is not running")
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        return self._pid

    @classmethod
    def adopt(
        cls, workdir: str | os.PathLike[str], name: str, *, netns: str | None = None,
        settings: CharonSettings | None = None,
    ) -> Charon:
        """Control an instance started (and detached) by another process: same workdir and name.

        The pid file is trusted only if that process is charon running with this instance's
        strongswan.conf. ``stop()`` then terminates it by pid; no finalizer is installed.
        """
        inst = cls(workdir, name, netns=netns, settings=settings)
        try:
            pid = int(inst.pid_path.read_text().strip())
        except (FileNotFoundError, ValueError) as exc:
            raise StrongswanError(f"no running instance {name} in {workdir}") from exc
        if not _is_our_charon(pid, inst.conf_path):
            raise StrongswanError(f"instance {name} in {workdir} is not running (stale pid {pid})")
        inst._pid = pid
        return inst

    def __enter__(self) -> Charon:
        if not self.running:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _diagnostics(self, lines: int = 25) -> str:
        parts = []
        for path in (self.stdout_path, self.log_path):
            try:
                text = path.read_text(errors="replace").splitlines()
            except FileNotFoundError:
                continue
            # never put key material into an exception (it ends up in test and CI logs)
            text = [t for t in text if ("plugin '" not in t or "failed" in t) and not _SECRET_LINE.search(t)]
            parts.append(f"--- {path.name} (tail) ---\n" + "\n".join(text[-lines:]))
        return "\n".join(parts) or "(no output)"

    # --- configuration
    def load(self, *connections: Connection) -> str:
        """Write swanctl.conf (and certificates/keys) for ``connections`` and ``swanctl --load-all``.

        Replaces what was loaded before. Returns swanctl's output.
        """
        old = os.umask(0o077)
        try:
            for sub in ("x509", "x509ca", "private"):
                for f in (self.swanctl_dir / sub).iterdir():
                    f.unlink()
            for conn in connections:
                if conn.cert is not None:
                    (self.swanctl_dir / "x509" / f"{conn.name}.crt").write_bytes(conn.cert.cert_pem)
                    (self.swanctl_dir / "private" / f"{conn.name}.key").write_bytes(conn.cert.key_pem)
                    for i, ca in enumerate(conn.cert.ca_pems):
                        (self.swanctl_dir / "x509ca" / f"{conn.name}-ca{i}.crt").write_bytes(ca)
            (self.swanctl_dir / "swanctl.conf").write_text(render_swanctl_conf(connections))
        finally:
            os.umask(old)
        out = self.swanctl("--load-all", "--noprompt").stdout
        if "failed" in out or f"successfully loaded {len(connections)} connections" not in out:
            raise StrongswanError(f"swanctl --load-all on {self.name} failed:\n{out}")
        self.connections = tuple(connections)
        return out

    # --- control through swanctl
    def swanctl(self, *args: str, timeout: float = 30.0, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run swanctl against this instance (no netns needed: it talks over the vici socket)."""
        try:
            proc = subprocess.run(
                [find_swanctl(), *args], env=self.env, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise StrongswanError(f"swanctl {' '.join(args)} on {self.name}: no answer within {timeout}s") from exc
        if check and proc.returncode != 0:
            raise StrongswanError(
                f"swanctl {' '.join(args)} on {self.name} failed (exit {proc.returncode}):\n"
                f"{proc.stdout.strip()}\n{proc.stderr.strip()}"
            )
        return proc

    def _default_child(self) -> str:
        if not self.connections:
            raise StrongswanError(f"{self.name}: nothing loaded; name the child")
        return self.connections[0].children[0].name

    def initiate(self, child: str | None = None, *, ike: str | None = None, timeout: float = 15.0) -> str:
        """``swanctl --initiate`` and wait for the result (raises StrongswanError if it fails)."""
        args = ["--initiate", "--child", child or self._default_child(), "--timeout", str(int(max(1, timeout)))]
        if ike:
            args += ["--ike", ike]
        proc = self.swanctl(*args, timeout=timeout + 10, check=False)
        if proc.returncode != 0 or "completed successfully" not in proc.stdout:
            raise StrongswanError(f"initiate on {self.name} failed:\n{proc.stdout.strip()}\n{proc.stderr.strip()}")
        return proc.stdout

    def rekey_child(self, child: str | None = None, *, child_id: int | None = None) -> None:
        """Start a CHILD_SA rekey (CREATE_CHILD_SA; with KE when the ESP proposal has a DH group)."""
        sel = ["--child-id", str(child_id)] if child_id is not None else ["--child", child or self._default_child()]
        self.swanctl("--rekey", *sel)

    def rekey_ike(self, ike: str | None = None, *, ike_id: int | None = None, reauth: bool = False) -> None:
        """Start an IKE_SA rekey (or a reauthentication with ``reauth``)."""
        if ike_id is not None:
            sel = ["--ike-id", str(ike_id)]
        else:
            sel = ["--ike", ike or (self.connections[0].name if self.connections else "peer")]
        self.swanctl("--rekey", *sel, *(["--reauth"] if reauth else []))

    def terminate(
        self, *, ike: str | None = None, ike_id: int | None = None, child: str | None = None,
        child_id: int | None = None, timeout: float = 10.0, force: bool = False,
    ) -> None:
        """Delete SAs (sends DELETE to the peer); defaults to the first loaded connection's IKE_SA."""
        args = ["--terminate"]
        if child_id is not None:
            args += ["--child-id", str(child_id)]
        elif child:
            args += ["--child", child]
        elif ike_id is not None:
            args += ["--ike-id", str(ike_id)]
        else:
            args += ["--ike", ike or (self.connections[0].name if self.connections else "peer")]
        args += ["--timeout", str(int(max(1, timeout)))]
        if force:
            args.append("--force")
        self.swanctl(*args, timeout=timeout + 10)

    def list_sas_raw(self, ike: str | None = None) -> list[tuple[str, dict]]:
        """``swanctl --list-sas --pretty`` as ``[(ike_sa_name, body)]`` with swanctl's keys and string values."""
        out = self.swanctl("--list-sas", "--noblock", "--pretty", *(["--ike", ike] if ike else [])).stdout
        result = []
        for event, body in parse_pretty(out):
            if event == "list-sa":
                result.extend((k, v) for k, v in body.items() if isinstance(v, dict))
        return result

    def list_sas(self, ike: str | None = None) -> list[IkeSaInfo]:
        """Typed IKE_SAs with their CHILD_SAs (SPIs, state, algorithms, in/out bytes and packets)."""
        return [ike_sa_from_raw(name, body) for name, body in self.list_sas_raw(ike)]

    def child_sas(self, name: str | None = None, state: str | None = "INSTALLED") -> list[ChildSaInfo]:
        return [
            c for sa in self.list_sas() for c in sa.children
            if (name is None or c.name == name) and (state is None or c.state == state)
        ]

    def stats(self) -> dict:
        with self.vici() as v:
            return v.stats()

    def vici(self, timeout: float = 30.0) -> ViciClient:
        """A vici connection to this instance (close it, or use ``with``)."""
        return ViciClient(str(self.vici_path), timeout=timeout)

    # --- waiting
    def wait_until(self, what: str, predicate: Callable[[], T | None], timeout: float = 10.0,
                   interval: float = 0.1) -> T:
        """Poll ``predicate`` until it returns something truthy; raises StrongswanError after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            if self._pid is not None and not self.running:
                raise StrongswanError(f"charon {self.name} died while waiting for {what}:\n{self._diagnostics()}")
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise StrongswanError(f"{self.name}: timeout after {timeout}s waiting for {what}")
            time.sleep(interval)

    def wait_for_child(self, name: str | None = None, *, count: int = 1, timeout: float = 10.0,
                       exclude_spis: Iterable[int] = ()) -> list[ChildSaInfo]:
        """Wait until at least ``count`` INSTALLED CHILD_SAs (named ``name``, with an inbound SPI not in
        ``exclude_spis``: e.g. the SPIs before a rekey) exist; returns them."""
        excluded = set(exclude_spis)

        def check() -> list[ChildSaInfo] | None:
            found = [c for c in self.child_sas(name) if c.spi_in not in excluded]
            return found if len(found) >= count else None

        return self.wait_until(f"{count} CHILD_SA(s) {name or ''}".strip(), check, timeout)

    def wait_for_ike(self, name: str | None = None, *, count: int = 1, timeout: float = 10.0,
                     exclude_spis: Iterable[int] = ()) -> list[IkeSaInfo]:
        """Wait until at least ``count`` ESTABLISHED IKE_SAs exist (SPIi not in ``exclude_spis``)."""
        excluded = set(exclude_spis)

        def check() -> list[IkeSaInfo] | None:
            found = [s for s in self.list_sas(name) if s.state == "ESTABLISHED" and s.spi_i not in excluded]
            return found if len(found) >= count else None

        return self.wait_until(f"{count} IKE_SA(s)", check, timeout)

    # --- the log
    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace").replace("\0", "")
        except FileNotFoundError:
            return ""

    def wait_for_log(self, pattern: str, *, count: int = 1, timeout: float = 10.0) -> list[str]:
        """Wait until ``count`` log lines match the regex ``pattern``; returns them."""
        rx = re.compile(pattern)

        def check() -> list[str] | None:
            found = [ln for ln in self.log_text().splitlines() if rx.search(ln)]
            return found if len(found) >= count else None

        return self.wait_until(f"log /{pattern}/ x{count}", check, timeout, interval=0.05)

    def keys(self) -> CharonKeys:
        """IKE and child-SA keys from this instance's log (needs ike=4, chd=4: the default log levels)."""
        return extract_keys(self.log_text())


def _is_our_charon(pid: int, conf_path: Path) -> bool:
    """pid is a live charon started with this strongswan.conf (guards against a reused pid)."""
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError):
        return False
    return comm.startswith("charon") and state != "Z" and f"STRONGSWAN_CONF={conf_path}".encode() in environ


def _terminate_pid(pid: int, timeout: float) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return
        except FileNotFoundError:
            return
        time.sleep(0.05)
    log.warning("charon pid %d ignored SIGTERM for %ss; killing it", pid, timeout)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _kill_quietly(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            pass


def loopback_settings(port: int, port_nat_t: int, **overrides: Any) -> CharonSettings:
    """Settings for a charon in a namespace shared with others, bound to loopback on custom ports.

    Its own routing table (``20000 + port``) keeps libipsec's routes apart from other instances', and
    ``interfaces_use = lo`` keeps it off other interfaces. Neither port may be 500 if peers are to use the
    non-ESP marker from the first packet on (strongSwan frames IKE with it whenever neither port is 500).
    """
    base = CharonSettings(port=port, port_nat_t=port_nat_t, routing_table=20000 + port,
                          interfaces_use=("lo",), allow_peer_ts=True)
    return replace(base, **overrides)


def stop_all(instances: Sequence[Charon], timeout: float = 10.0) -> None:
    """Stop several instances at once (each SIGTERMed first, then waited for)."""
    for c in instances:
        if c.running and c.pid is not None:
            os.kill(c.pid, signal.SIGTERM)
    for c in instances:
        c.stop(timeout)
