"""The lab launcher: start a topology (one process per device, wires, hosts, peers), watch it, stop it.

See the package docstring (``netconf_device.lab``) for the Python API and ``docs/labs.md`` for users.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netconf_device.lab import ports as port_registry
from netconf_device.lab import processes, query
from netconf_device.lab.hosts import EmulatedEndpoint, EmulatedHosts, netns_ping
from netconf_device.lab.state import (
    default_state_dir,
    port_still_owned,
    read_state,
    remove_state,
    write_state,
)
from netconf_device.lab.topology import GeneratedConfig, Topology, TopologyError, load_topology

log = logging.getLogger("netconf_device.lab")

NS_PREFIX = "ndlab"
LOOPBACK = "127.0.0.1"
DEVICE_START_TIMEOUT = 60.0


class LabError(RuntimeError):
    """A lab operation failed; the message says what and what to do."""


class TunnelsNotUp(LabError):
    """``up(wait=True)`` / ``wait_tunnels`` timed out; ``status`` holds the last summary per device."""

    def __init__(self, message: str, status: dict[str, query.TunnelSummary]) -> None:
        super().__init__(message)
        self.status = status


# ------------------------------------------------------------------------------------------ status objects
@dataclass
class DeviceStatus:
    name: str
    host: str
    port: int | None
    user: str
    password: str = field(repr=False)
    pid: int | None = None
    alive: bool = False
    tunnels: query.TunnelSummary | None = None
    error: str | None = None  # why tunnels are unknown (NETCONF failed ...)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}" if self.port else "-"


@dataclass
class HostStatus:
    name: str
    kind: str  # "emulated" | "netns"
    attach: str
    addresses: list[str]
    gateways: list[str]
    endpoint: str  # "127.0.0.1:PORT" (emulated) or the namespace name
    owns: list[str] = field(default_factory=list)


@dataclass
class PeerStatus:
    name: str
    kind: str
    netns: str
    pid: int | None
    alive: bool
    ike_up: int | None = None
    children_up: int | None = None
    error: str | None = None


@dataclass
class LabStatus:
    name: str
    state_dir: Path
    up: bool
    devices: list[DeviceStatus] = field(default_factory=list)
    hosts: list[HostStatus] = field(default_factory=list)
    peers: list[PeerStatus] = field(default_factory=list)

    def device(self, name: str) -> DeviceStatus:
        return next(d for d in self.devices if d.name == name)

    @property
    def all_tunnels_up(self) -> bool:
        return all(d.tunnels is not None and d.tunnels.error is None and d.tunnels.up == d.tunnels.total
                   for d in self.devices)


# ------------------------------------------------------------------------------------------ device handle
class LabDevice:
    """One device of a running lab: where to reach it, and its process."""

    def __init__(self, lab: Lab, name: str) -> None:
        self._lab = lab
        self.name = name

    def _record(self) -> dict[str, Any]:
        state = self._lab._require_state()
        return state["devices"][self.name]

    @property
    def host(self) -> str:
        return self._record().get("listen", LOOPBACK)

    @property
    def port(self) -> int:
        port = self._record().get("port")
        if not port:
            raise LabError(f"device {self.name} has no NETCONF port yet (is the lab up?)")
        return port

    @property
    def user(self) -> str:
        return self._record()["user"]

    @property
    def password(self) -> str:
        return self._record()["password"]

    @property
    def pid(self) -> int | None:
        return self._record().get("pid")

    @property
    def state_dir(self) -> Path:
        return Path(self._record()["state_dir"])

    @property
    def log_path(self) -> Path:
        return Path(self._record()["log"])

    @property
    def alive(self) -> bool:
        record = self._record()
        return processes.process_alive(record.get("pid"), self._lab._procs.get(self.name)) and \
            processes.is_our_process(record.get("pid"), record["state_dir"])

    def connect(self, **kwargs):
        """A new ncclient manager (Junos handler) logged in as the lab user; close it (or use ``with``)."""
        return query.connect(self.host, self.port, self.user, self.password, **kwargs)

    def pyez(self, **kwargs):
        """A PyEZ ``jnpr.junos.Device`` for this device, not yet opened (``with lab.device(n).pyez() as dev``)."""
        from jnpr.junos import Device

        return Device(host=self.host, port=self.port, user=self.user, passwd=self.password, **kwargs)

    def command(self, text: str, format: str = "text") -> str:
        """Run one CLI command over NETCONF (``<command format=...>``) and return the text (or XML text)."""
        from lxml import etree

        request = etree.Element("command", format=format)
        request.text = text
        with self.connect() as conn:
            reply = query.rpc(conn, request)
        if format == "text":
            return "".join(o.text or "" for o in query.children(reply, "output"))
        if format == "json":
            return "".join(reply.itertext())
        return etree.tostring(reply, encoding="unicode")

    def tunnels(self) -> query.TunnelSummary:
        with self.connect() as conn:
            return query.tunnel_summary(conn)

    def ipsec_statistics(self, index: int | None = None) -> dict[str, int]:
        """``show security ipsec statistics [index N]`` as {element name: value}."""
        with self.connect() as conn:
            return query.ipsec_statistics(conn, index)

    # --- process control (the lab state follows)
    def stop(self, timeout: float = 10.0) -> None:
        """Stop the device gracefully (SIGTERM: it sends IKE DELETEs and exits)."""
        self._lab._stop_device(self.name, timeout=timeout)

    def kill(self) -> None:
        """Kill the device at once (SIGKILL, like a crash: no DELETE reaches the peer)."""
        import signal

        self._lab._stop_device(self.name, sig=signal.SIGKILL, timeout=5.0)

    def start(self, timeout: float = DEVICE_START_TIMEOUT) -> None:
        """Start a stopped device again with its state directory (configuration kept) and the same ports."""
        self._lab._start_device(self.name, timeout=timeout)

    def restart(self, timeout: float = DEVICE_START_TIMEOUT) -> None:
        self.stop()
        self.start(timeout=timeout)


class LabHost:
    """One host of a running lab, for traffic."""

    def __init__(self, lab: Lab, name: str) -> None:
        self._lab = lab
        self.name = name

    def _record(self) -> dict[str, Any]:
        return self._lab._require_state()["hosts"][self.name]

    @property
    def kind(self) -> str:
        return self._record()["kind"]

    @property
    def netns(self) -> str | None:
        return self._record().get("netns")

    @property
    def addresses(self) -> list[str]:
        return list(self._record()["addresses"])

    def ping(self, address: str, count: int = 3, *, interval: float = 0.2, timeout: float = 1.0, size: int = 56,
             source: str | None = None):
        """Ping ``address`` from this host: a ``PingResult`` (sent, received, rtts, loss, errors).

        ``source``: one of the host's addresses (or of its ``owns`` networks); default its first address.
        """
        if self.kind == "netns":
            return self._lab._with_emulated(lambda: netns_ping(self.netns, address, count=count, interval=interval,
                                                               timeout=timeout, size=size, source=source))
        return self._lab.hosts_runner().ping(self.name, address, count=count, interval=interval, timeout=timeout,
                                             size=size, source=source)

    def send_udp(self, address: str, port: int, payload: bytes, *, sport: int = 40000,
                 dont_fragment: bool = False, source: str | None = None) -> bytes:
        """Send one UDP datagram (emulated hosts); returns the IP packet sent."""
        self._require_emulated()
        return self._lab.hosts_runner().send_udp(self.name, address, port, payload, sport=sport,
                                                 dont_fragment=dont_fragment, source=source)

    def wait_received(self, timeout: float = 1.0) -> bytes | None:
        """The next IP packet this (emulated) host received that was not a ping reply, or None."""
        self._require_emulated()
        return self._lab.hosts_runner().wait_received(self.name, timeout)

    def run(self, argv: list[str], **kwargs) -> subprocess.CompletedProcess:
        """Run a command inside this host's namespace (netns hosts)."""
        if self.kind != "netns":
            raise LabError(f"host {self.name} is emulated; run commands only in netns hosts")
        return subprocess.run(["ip", "netns", "exec", self.netns, *argv], capture_output=True, text=True, **kwargs)

    def _require_emulated(self) -> None:
        if self.kind != "emulated":
            raise LabError(f"host {self.name} is a network namespace ({self.netns}); use run([...]) for traffic")


# ------------------------------------------------------------------------------------------ the lab
class Lab:
    """A lab topology and, once up, its running devices, hosts and peers (see the package docstring)."""

    def __init__(self, topology: Topology, state_dir: Path, *, netns_hosts: bool = False) -> None:
        self.topology = topology.with_netns_hosts() if netns_hosts else topology
        self.netns_hosts = netns_hosts
        self.state_dir = Path(state_dir).resolve()
        self._procs: dict[str, subprocess.Popen] = {}
        self._hosts: EmulatedHosts | None = None
        self._state: dict[str, Any] | None = None

    # --- construction
    @classmethod
    def load(cls, path: str | os.PathLike, *, state_dir: str | os.PathLike | None = None,
             params: dict[str, Any] | None = None, netns_hosts: bool = False) -> Lab:
        """A lab from its directory or YAML file. Raises ``TopologyError`` listing every problem."""
        topology = load_topology(path, {k: str(v) for k, v in (params or {}).items()})
        return cls(topology, Path(state_dir) if state_dir else default_state_dir(topology.name),
                   netns_hosts=netns_hosts)

    @classmethod
    def attach(cls, state_dir: str | os.PathLike) -> Lab:
        """The lab recorded in ``state_dir`` (started by ``lab up`` or another process)."""
        state_dir = Path(state_dir).resolve()
        state = read_state(state_dir)
        if state is None:
            raise LabError(f"no lab is up with state in {state_dir}")
        try:
            topology = load_topology(state["topology"], state.get("params") or {})
        except TopologyError:
            topology = Topology(state["lab"], Path(state["topology"]).parent, Path(state["topology"]))
        lab = cls(topology, state_dir, netns_hosts=bool(state.get("netns_hosts")))
        lab._state = state
        return lab

    @property
    def name(self) -> str:
        return self.topology.name

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()

    def __repr__(self) -> str:
        return f"Lab({self.name!r}, state_dir={str(self.state_dir)!r})"

    # --- state helpers
    def _load_state(self) -> dict[str, Any] | None:
        self._state = read_state(self.state_dir)
        return self._state

    def _require_state(self) -> dict[str, Any]:
        if self._state is None and self._load_state() is None:
            raise LabError(f"lab {self.name} is not up (no state in {self.state_dir})")
        return self._state

    def _save(self) -> None:
        write_state(self.state_dir, self._state)

    @property
    def is_up(self) -> bool:
        """True if the lab's state exists and at least one of its device processes runs."""
        state = self._load_state()
        if state is None:
            return False
        return any(processes.is_our_process(d.get("pid"), d["state_dir"]) for d in state["devices"].values())

    def device(self, name: str) -> LabDevice:
        if name not in self.topology.devices and name not in (self._state or {}).get("devices", {}):
            raise LabError(f"lab {self.name} has no device {name!r} (devices: {', '.join(self.topology.devices)})")
        return LabDevice(self, name)

    def host(self, name: str) -> LabHost:
        state = self._require_state()
        if name not in state["hosts"]:
            raise LabError(f"lab {self.name} has no host {name!r} (hosts: {', '.join(state['hosts']) or 'none'})")
        return LabHost(self, name)

    @property
    def devices(self) -> list[LabDevice]:
        return [LabDevice(self, n) for n in self.topology.devices]

    # --- up
    def up(self, *, wait: bool = True, timeout: float = 60.0,
           progress: Callable[[str], None] | None = None) -> LabStatus:
        """Start everything; with ``wait`` also wait until every configured tunnel is up.

        Returns the status. Raises ``LabError`` (the lab is cleaned up again) when something cannot start,
        and ``TunnelsNotUp`` (the lab stays up) when tunnels are missing after ``timeout`` seconds.
        """
        say = progress or (lambda _msg: None)
        if self.is_up:
            raise LabError(f"lab {self.name} is already up (state in {self.state_dir}); run `lab down` first")
        if self._state is not None:
            self.down()  # leftovers of a crashed lab with this state directory
        if self.topology.needs_root and os.geteuid() != 0:
            what = "strongSwan peers" if self.topology.peers else "network-namespace hosts"
            raise LabError(f"lab {self.name} needs root for its {what}; run as root "
                           "(or use emulated hosts: drop --netns-hosts / netns: true)")
        started = time.monotonic()
        try:
            self._prepare()
            self._start_all_devices(say)
            self._configure_namespaces()
            self._start_peers(say)
            self._state["phase"] = "up"
            self._save()
        except BaseException as exc:
            say(f"lab {self.name}: start failed, cleaning up")
            try:
                self.down(keep_logs=True)
            except Exception:
                log.exception("cleanup after a failed start")
            if isinstance(exc, (LabError, TopologyError, KeyboardInterrupt)):
                raise
            raise LabError(f"lab {self.name}: {exc}") from exc
        say(f"lab {self.name}: {len(self.topology.devices)} device(s) running after {time.monotonic() - started:.1f} s")
        status = self.status(tunnels=False)
        if wait:
            summaries = self.wait_tunnels(timeout=max(1.0, timeout - (time.monotonic() - started)),
                                          progress=progress, since=started)
            for device in status.devices:
                device.tunnels = summaries.get(device.name)
            state = self._require_state()
            status.peers = [self._peer_status(name, peer, True) for name, peer in state["peers"].items()]
        return status

    def _prepare(self) -> None:
        """Directories, port reservations, namespace names and wires, recorded before anything starts."""
        topo = self.topology
        self.state_dir.mkdir(parents=True, exist_ok=True)
        owner = str(self.state_dir)
        lab_id = self._fresh_id()
        emulated = [h for h in topo.hosts.values() if not h.netns]
        need = 2 * len(topo.links) + 2 * len(emulated)
        state: dict[str, Any] = {
            "lab": topo.name, "topology": str(topo.file), "params": topo.params,
            "netns_hosts": self.netns_hosts,
            "id": lab_id, "phase": "starting", "started": time.time(), "ports": [], "namespaces": [],
            "devices": {}, "hosts": {}, "links": [], "peers": {}, "owner_pid": os.getpid(),
        }
        self._state = state
        self._save()  # from here on `lab down` can clean up
        free = port_registry.allocate(owner, need, still_owned=port_still_owned) if need else []
        state["ports"] = list(free)
        self._save()
        wires: dict[str, dict[str, str]] = {name: {} for name in topo.devices}
        tun_index = iter(range(1, 100))

        def tun_name() -> str:
            return f"{NS_PREFIX}{lab_id}{next(tun_index):02d}"

        for link in topo.links:
            pa, pb = free.pop(), free.pop()
            wires[link.a.node][link.a.ifd] = f"udp:{LOOPBACK}:{pa}:{LOOPBACK}:{pb}"
            wires[link.b.node][link.b.ifd] = f"udp:{LOOPBACK}:{pb}:{LOOPBACK}:{pa}"
            state["links"].append({"a": str(link.a), "b": str(link.b), "ports": [pa, pb]})
        for peer in topo.peers.values():
            ns = f"{NS_PREFIX}-{lab_id}-{peer.name}"
            tun = tun_name()
            wires[peer.attach.node][peer.attach.ifd] = f"tun:{tun},netns={ns},address={peer.address.with_prefixlen}"
            state["peers"][peer.name] = {"kind": peer.kind, "netns": ns, "tun": tun, "address": str(peer.address),
                                         "attach": str(peer.attach), "workdir": str(self._peer_workdir(peer.name, lab_id)),
                                         "pid": None}
        for host in topo.hosts.values():
            record: dict[str, Any] = {"attach": str(host.attach), "addresses": [str(a) for a in host.addresses],
                                      "gateways": [str(g) for g in host.gateways],
                                      "owns": [str(n) for n in host.owns]}
            if host.netns:
                ns = f"{NS_PREFIX}-{lab_id}-{host.name}"
                ifname = tun_name()
                record.update(kind="netns", netns=ns, ifname=ifname)
                if host.attach.ifd is not None:
                    # the device configures the host side (addresses, default routes through the TUN),
                    # again whenever it restarts and recreates the TUN
                    options = [f"address={a.with_prefixlen}" for a in host.addresses]
                    options += ["route=default" if g.version == 4 else "route=::/0" for g in host.gateways]
                    wires[host.attach.node][host.attach.ifd] = ",".join([f"tun:{ifname}", f"netns={ns}", *options])
                else:
                    record["ifname"] = "eth0"
                    record["peer_if"] = ifname
            else:
                host_port, device_port = free.pop(), free.pop()
                wires[host.attach.node][host.attach.ifd] = f"udp:{LOOPBACK}:{device_port}:{LOOPBACK}:{host_port}"
                record.update(kind="emulated", local=[LOOPBACK, host_port], remote=[LOOPBACK, device_port])
            state["hosts"][host.name] = record
        devices_dir = self.state_dir / "devices"
        for device in topo.devices.values():
            directory = devices_dir / device.name
            if directory.exists():
                shutil.rmtree(directory)  # a fresh lab: the configuration comes from the lab file
            directory.mkdir(parents=True)
            config = self._device_config(device, directory)
            state["devices"][device.name] = {
                "model": device.model, "user": device.user, "password": device.password, "listen": LOOPBACK,
                "port": device.port, "fixed_port": device.port is not None, "dir": str(directory),
                "state_dir": str(directory / "state"), "log": str(directory / "device.log"),
                "config": str(config) if config else None, "wires": wires[device.name], "pid": None,
            }
        self._save()

    def _fresh_id(self) -> str:
        from netconf_device.interop import netns

        for _ in range(100):
            lab_id = secrets.token_hex(3)
            if not netns.list_namespaces(f"{NS_PREFIX}-{lab_id}"):
                return lab_id
        raise LabError("could not find an unused lab id")

    def _peer_workdir(self, name: str, lab_id: str) -> Path:
        """charon's instance directory; its vici socket path must stay under 108 bytes."""
        workdir = self.state_dir / "peers" / name
        if len(str(workdir / "charon" / "charon.vici")) > 100:
            workdir = Path("/tmp") / f"{NS_PREFIX}-{lab_id}" / name
        return workdir

    def _device_config(self, device, directory: Path) -> Path | None:
        config = device.config
        if not isinstance(config, GeneratedConfig):
            return config
        out = directory / f"config{config.suffix}"
        result = subprocess.run([sys.executable, str(config.script), *config.args], capture_output=True, text=True,
                                cwd=str(config.script.parent), timeout=300)
        if result.returncode != 0:
            raise LabError(f"device {device.name}: {config.script.name} {' '.join(config.args)} failed "
                           f"(exit {result.returncode}): {result.stderr.strip()[-2000:]}")
        out.write_text(result.stdout)
        return out

    def _serve_argv(self, name: str) -> list[str]:
        record = self._state["devices"][name]
        spec = self.topology.devices.get(name)
        return processes.serve_argv(
            port=record.get("port") or 0, listen=record["listen"], state_dir=Path(record["state_dir"]),
            hostname=name, model=record["model"], user=record["user"], password=record["password"],
            config=Path(record["config"]) if record.get("config") else None, wires=record["wires"],
            log_level=spec.log_level if spec is not None else "info")

    def _start_all_devices(self, say: Callable[[str], None]) -> None:
        """Create the namespaces the wires need, start every device, wait until each one listens."""
        self._create_namespaces()
        offsets = {}
        for name in self.topology.devices:
            record = self._state["devices"][name]
            log_path = Path(record["log"])
            offsets[name] = log_path.stat().st_size if log_path.exists() else 0
            started = processes.start_process(self._serve_argv(name), log_path)
            self._procs[name] = started.proc
            record["pid"] = started.pid
            self._save()
            say(f"  {name}: started (pid {started.pid})")
        for name in self.topology.devices:
            record = self._state["devices"][name]
            started = processes.Started(record["pid"], self._procs.get(name))
            try:
                record["port"] = processes.wait_listening(name, started, Path(record["log"]), offset=offsets[name],
                                                          timeout=DEVICE_START_TIMEOUT)
            except processes.DeviceStartError as exc:
                raise LabError(str(exc)) from None
            self._save()
            say(f"  {name}: NETCONF on {record['listen']}:{record['port']}")

    def _create_namespaces(self) -> None:
        needed = [h["netns"] for h in self._state["hosts"].values() if h["kind"] == "netns"]
        needed += [p["netns"] for p in self._state["peers"].values()]
        if not needed:
            return
        from netconf_device.interop import netns

        for name in needed:
            self._state["namespaces"].append(name)
            self._save()
            netns.Netns.create(name)
        for host in self._state["hosts"].values():
            for network in host.get("owns", []) if host["kind"] == "netns" else []:
                # "AnyIP": every address of the network is local, so the host answers and can ping from it
                netns.ip("route", "add", "local", network, "dev", "lo", netns=host["netns"])
        for peer in self._state["peers"].values():
            netns.Netns(peer["netns"]).sysctl("net.ipv4.ip_forward", 1)
        # hosts behind an external peer: a veth from the peer's namespace to the host's
        for name, host in self._state["hosts"].items():
            if host["kind"] != "netns" or "peer_if" not in host:
                continue
            spec = self.topology.hosts[name]
            peer = self.topology.peers[spec.attach.node]
            peer_ns = self._state["peers"][peer.name]["netns"]
            netns.add_veth(peer_ns, host["peer_if"], host["netns"], host["ifname"], a_addr=str(peer.lan))
            self._address_host(name)

    def _address_host(self, name: str) -> None:
        from netconf_device.interop import netns
        from netconf_device.lab.peers import host_route_args

        host = self._state["hosts"][name]
        ns, dev = host["netns"], host["ifname"]
        existing = set(netns.Netns(ns).addresses(dev))
        for address in host["addresses"]:
            iface = ipaddress.ip_interface(address)
            if iface.with_prefixlen not in existing:
                flags = ["nodad"] if iface.version == 6 else []
                netns.ip("addr", "add", iface.with_prefixlen, "dev", dev, *flags, netns=ns)
        netns.ip("link", "set", dev, "up", netns=ns)
        for gateway in host["gateways"]:
            netns.ip(*host_route_args(ipaddress.ip_address(gateway)), "dev", dev, "onlink", netns=ns)

    def _wait_link(self, ns: str, ifname: str, owner: str, timeout: float = 15.0) -> None:
        from netconf_device.interop import netns

        deadline = time.monotonic() + timeout
        while ifname not in netns.Netns(ns).links():
            if time.monotonic() > deadline:
                raise LabError(f"the TUN wire {ifname} of device {owner} did not appear in namespace {ns} within "
                               f"{timeout:.0f} s (does this device support --wire tun:...?)")
            time.sleep(0.05)

    def _configure_namespaces(self, only_device: str | None = None) -> None:
        """Wait until the far side of each device TUN is in its namespace (the device addresses it)."""
        for name, host in self._state["hosts"].items():
            spec = self.topology.hosts.get(name)
            if host["kind"] != "netns" or "peer_if" in host or spec is None:
                continue
            if only_device and spec.attach.node != only_device:
                continue
            self._wait_link(host["netns"], host["ifname"], spec.attach.node)
        for name, peer in self._state["peers"].items():
            spec = self.topology.peers[name]
            if only_device and spec.attach.node != only_device:
                continue
            self._wait_link(peer["netns"], peer["tun"], spec.attach.node)

    def _start_peers(self, say: Callable[[str], None]) -> None:
        from netconf_device.lab.peers import start_charon

        for name, record in self._state["peers"].items():
            spec = self.topology.peers[name]
            record["pid"] = start_charon(spec, Path(record["workdir"]), record["netns"])
            self._save()
            say(f"  {name}: strongSwan charon (pid {record['pid']}) in namespace {record['netns']}")

    # --- waiting for tunnels
    def wait_tunnels(self, timeout: float = 60.0, progress: Callable[[str], None] | None = None,
                     interval: float = 0.25, *, since: float | None = None) -> dict[str, query.TunnelSummary]:
        """Poll every device over NETCONF until all configured tunnels are up; the last summaries.

        Raises ``TunnelsNotUp`` naming each missing tunnel and why (its IKE SA state) after ``timeout``.
        """
        state = self._require_state()
        names = list(state["devices"])
        deadline = time.monotonic() + timeout
        started = time.monotonic()
        conns: dict[str, Any] = {}
        vpns: dict[str, list] = {}
        summaries: dict[str, query.TunnelSummary] = {}
        last_line = ""
        final = False  # the last round also asks why tunnels are down
        slow: set[str] = set()

        def poll(name: str) -> query.TunnelSummary:
            try:
                if name not in conns:
                    record = state["devices"][name]
                    conns[name] = query.connect(record["listen"], record["port"], record["user"], record["password"])
                if name not in vpns:
                    vpns[name] = query.configured_vpns(conns[name])
                if not final and name not in slow:
                    try:
                        return query.quick_summary(conns[name], len(vpns[name]))
                    except query.RpcFailed:
                        slow.add(name)  # a device without inactive-tunnels: read the SA listing
                return query.tunnel_summary(conns[name], vpns[name], reasons=final)
            except Exception as exc:  # keep polling: the device may still be applying its configuration
                conn = conns.pop(name, None)
                if conn is not None:
                    _close_quietly(conn)
                alive = processes.is_our_process(state["devices"][name].get("pid"), state["devices"][name]["state_dir"])
                if not alive:
                    raise LabError(f"device {name} is not running; last lines of its log:\n"
                                   f"{processes.log_tail(Path(state['devices'][name]['log']))}") from None
                return query.TunnelSummary(0, 0, 0, 0, error=f"{type(exc).__name__}: {exc}")

        try:
            with ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
                while True:
                    round_started = time.monotonic()
                    summaries = dict(zip(names, pool.map(poll, names), strict=True))
                    done = all(s.error is None and s.up == s.total for s in summaries.values())
                    line = "  tunnels up: " + ", ".join(
                        f"{n} {s.up}/{s.total}" if s.error is None else f"{n} ?" for n, s in summaries.items())
                    if progress and (line != last_line or done):
                        progress(f"{line}  ({time.monotonic() - started:.1f} s)")
                        last_line = line
                    if done:
                        return summaries
                    if final:
                        elapsed = time.monotonic() - (since if since is not None else started)
                        raise TunnelsNotUp(self._not_up_message(summaries, elapsed), summaries)
                    if time.monotonic() > deadline:
                        final = True
                        continue
                    # poll no faster than the devices answer (2000 tunnels make big replies)
                    time.sleep(max(interval, time.monotonic() - round_started))
        finally:
            for conn in conns.values():
                _close_quietly(conn)

    def _not_up_message(self, summaries: dict[str, query.TunnelSummary], elapsed: float) -> str:
        lines = [f"lab {self.name}: not all tunnels are up after {elapsed:.0f} s:"]
        for name, summary in summaries.items():
            if summary.error is not None:
                lines.append(f"  {name}: could not read its state over NETCONF: {summary.error}")
                continue
            if summary.up == summary.total:
                continue
            lines.append(f"  {name}: {summary.up}/{summary.total} tunnels up, IKE SAs up {summary.ike_up}/"
                         f"{summary.ike_total}" if summary.ike_up is not None else
                         f"  {name}: {summary.up}/{summary.total} tunnels up")
            down = summary.down
            for vpn in down[:10]:
                lines.append(f"    {vpn.name} ({vpn.bind_interface or 'no st0'}): {vpn.why()}")
            if len(down) > 10:
                lines.append(f"    ... and {len(down) - 10} more")
        lines.append(f"  (logs: {self.state_dir}/devices/*/device.log; `lab status` shows the current state)")
        return "\n".join(lines)

    # --- status
    def status(self, *, tunnels: bool = True) -> LabStatus:
        """Every device (NETCONF address, login, pid alive, tunnels up/total), host and peer."""
        state = self._load_state()
        if state is None:
            return LabStatus(self.name, self.state_dir, False)
        result = LabStatus(state["lab"], self.state_dir, True)

        def device_status(name: str) -> DeviceStatus:
            record = state["devices"][name]
            alive = processes.is_our_process(record.get("pid"), record["state_dir"])
            status = DeviceStatus(name, record["listen"], record.get("port"), record["user"], record["password"],
                                  record.get("pid"), alive)
            if alive and tunnels and record.get("port"):
                try:
                    with query.connect(record["listen"], record["port"], record["user"], record["password"]) as conn:
                        status.tunnels = query.tunnel_summary(conn)
                except Exception as exc:
                    status.error = f"{type(exc).__name__}: {exc}"
            return status

        with ThreadPoolExecutor(max_workers=max(1, len(state["devices"]))) as pool:
            result.devices = list(pool.map(device_status, state["devices"]))
        result.up = any(d.alive for d in result.devices)
        for name, host in state["hosts"].items():
            endpoint = f"{host['local'][0]}:{host['local'][1]}" if host["kind"] == "emulated" else host["netns"]
            result.hosts.append(HostStatus(name, host["kind"], host["attach"], host["addresses"], host["gateways"],
                                           endpoint, list(host.get("owns", []))))
        for name, peer in state["peers"].items():
            result.peers.append(self._peer_status(name, peer, tunnels))
        return result

    def _peer_status(self, name: str, peer: dict, tunnels: bool) -> PeerStatus:
        from netconf_device.lab.peers import adopt_charon

        status = PeerStatus(name, peer["kind"], peer["netns"], peer.get("pid"), False)
        try:
            charon = adopt_charon(Path(peer["workdir"]), peer["netns"])
        except Exception as exc:
            status.error = str(exc)
            return status
        status.alive = True
        if tunnels:
            try:
                sas = charon.list_sas()
                status.ike_up = sum(1 for s in sas if s.state == "ESTABLISHED")
                status.children_up = sum(1 for s in sas for c in s.children if c.state == "INSTALLED")
            except Exception as exc:
                status.error = str(exc)
        return status

    def charon(self, peer: str):
        """The running strongSwan instance of an external peer (``interop.strongswan.Charon``)."""
        from netconf_device.lab.peers import adopt_charon

        record = self._require_state()["peers"][peer]
        return adopt_charon(Path(record["workdir"]), record["netns"])

    def link_ports(self, endpoint: str) -> tuple[int, int]:
        """(this end's UDP port, the other end's) of the link at ``DEVICE:IFD``."""
        for link in self._require_state()["links"]:
            if link["a"] == endpoint:
                return link["ports"][0], link["ports"][1]
            if link["b"] == endpoint:
                return link["ports"][1], link["ports"][0]
        raise LabError(f"no link at {endpoint}")

    # --- traffic
    def hosts_runner(self) -> EmulatedHosts:
        """The emulated hosts of this lab, bound in this process until ``release_hosts()`` or ``down()``."""
        if self._hosts is None:
            state = self._require_state()
            endpoints = [EmulatedEndpoint(name, tuple(h["addresses"]), tuple(h["local"]), tuple(h["remote"]),
                                          tuple(h.get("owns", ())))
                         for name, h in state["hosts"].items() if h["kind"] == "emulated"]
            self._hosts = EmulatedHosts(endpoints)
        return self._hosts

    def release_hosts(self) -> None:
        if self._hosts is not None:
            self._hosts.close()
            self._hosts = None

    def _with_emulated(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` while this lab's emulated hosts are bound (so they answer)."""
        state = self._require_state()
        if not any(h["kind"] == "emulated" for h in state["hosts"].values()) or self._hosts is not None:
            return fn()
        self.hosts_runner()
        try:
            return fn()
        finally:
            self.release_hosts()

    def ping(self, host: str, address: str, count: int = 3, *, interval: float = 0.2, timeout: float = 1.0,
             size: int = 56, source: str | None = None) -> Any:
        """Ping ``address`` from ``host``; a result with ``sent``, ``received``, ``loss``, ``rtts``."""
        return self.host(host).ping(address, count, interval=interval, timeout=timeout, size=size, source=source)

    # --- one device's process
    def _stop_device(self, name: str, *, sig: int | None = None, timeout: float = 10.0) -> None:
        import signal

        record = self._require_state()["devices"][name]
        processes.stop_process(record.get("pid"), record["state_dir"], proc=self._procs.get(name),
                               sig=sig if sig is not None else signal.SIGTERM, timeout=timeout)
        proc = self._procs.pop(name, None)
        if proc is not None:
            proc.poll()

    def _start_device(self, name: str, *, timeout: float) -> None:
        state = self._require_state()
        record = state["devices"][name]
        if processes.is_our_process(record.get("pid"), record["state_dir"]):
            raise LabError(f"device {name} is already running (pid {record['pid']})")
        log_path = Path(record["log"])
        offset = log_path.stat().st_size if log_path.exists() else 0
        started = processes.start_process(self._serve_argv(name), log_path)
        self._procs[name] = started.proc
        record["pid"] = started.pid
        self._save()
        try:
            record["port"] = processes.wait_listening(name, started, log_path, offset=offset, timeout=timeout)
        except processes.DeviceStartError as exc:
            raise LabError(str(exc)) from None
        self._save()
        self._configure_namespaces(only_device=name)

    # --- down
    def down(self, *, keep_logs: bool = True) -> list[str]:
        """Stop everything this lab started and remove its namespaces, also after a crash; idempotent.

        Returns a line per thing stopped or removed. Logs stay in the state directory unless ``keep_logs``
        is False (then the whole state directory goes).
        """
        self.release_hosts()
        done: list[str] = []
        state = self._load_state()
        if state is not None:
            for name, peer in state.get("peers", {}).items():
                from netconf_device.lab.peers import stop_charon

                if stop_charon(Path(peer["workdir"]), peer.get("netns")):
                    done.append(f"stopped strongSwan peer {name}")
            for name, record in state.get("devices", {}).items():
                if processes.stop_process(record.get("pid"), record["state_dir"], proc=self._procs.pop(name, None)):
                    done.append(f"stopped device {name} (pid {record['pid']})")
            done += self._remove_namespaces(state)
            port_registry.release(str(self.state_dir))
            remove_state(self.state_dir)
        self._state = None
        if not keep_logs and self.state_dir.exists():
            shutil.rmtree(self.state_dir, ignore_errors=True)
        return done

    def _remove_namespaces(self, state: dict[str, Any]) -> list[str]:
        names = set(state.get("namespaces", []))
        lab_id = state.get("id")
        if not names and not lab_id:
            return []
        if os.geteuid() != 0:
            return [f"cannot remove namespaces {', '.join(sorted(names))} without root"] if names else []
        from netconf_device.interop import netns

        if lab_id:
            names |= set(netns.list_namespaces(f"{NS_PREFIX}-{lab_id}-"))
        done = []
        for name in sorted(names):
            if netns.exists(name):
                netns.delete(name)
                done.append(f"removed namespace {name}")
        if lab_id:  # TUNs of a device that died before moving them
            for link in _links_with_prefix(f"{NS_PREFIX}{lab_id}"):
                netns.delete_link(link)
                done.append(f"removed interface {link}")
            for peer in state.get("peers", {}).values():
                workdir = Path(peer["workdir"])
                if workdir.is_relative_to(Path("/tmp")):
                    shutil.rmtree(workdir.parent, ignore_errors=True)
        return done


def _links_with_prefix(prefix: str) -> list[str]:
    result = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=False)
    names = []
    for line in result.stdout.splitlines():
        parts = line.split(":", 2)
        if len(parts) >= 2:
            name = parts[1].strip().split("@", 1)[0]
            if name.startswith(prefix):
                names.append(name)
    return names


def _close_quietly(conn) -> None:
    try:
        conn.close_session()
    except Exception:
        pass
