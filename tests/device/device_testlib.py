"""Helpers for the device tests: configurations of two peers, `serve` processes joined by UDP wires,
emulated hosts on the LAN wires, NETCONF access.

Topology (VPN k = 1..N; the seed's example is N = 1 with the addresses below):

    Host1 (1.1.k.2) --udp-- [et-0/1/8 1.1.k.1] peer1 [et-0/2/10 16.1.k.1] --udp-- [16.1.k.2 et-0/2/10] peer2
                                                                    [et-0/1/8 2.2.k.1] --udp-- Host2 (2.2.k.2)

Peer1 routes 2.2.k.0/24 into st0.k, peer2 routes 1.1.k.0/24 into st0.k; VPN k uses gateway gw_k between
16.1.k.1 and 16.1.k.2, tunnel index 500000 + k.
"""

from __future__ import annotations

import asyncio
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import ncclient.transport.session
from ncclient import manager

ncclient.transport.session.TICK = 0.001
REPO = Path(__file__).resolve().parents[2]
USER, PASSWORD = "admin", "admin123"


@dataclass(frozen=True)
class Vpn:
    k: int = 1
    psk: str = "lab-secret-123"
    ike_encryption: str = "aes-256-cbc"
    ike_integrity: str = "sha-256"
    dh_group: str = "group14"
    esp_encryption: str = "aes-256-gcm"
    establish: str = "immediately"
    dpd: tuple[str, int, int] | None = None  # (mode, interval, threshold)
    lifetime_kb: int | None = None
    tunnel_mtu: int | None = None
    udp_encapsulation: int | None = None  # service-set UDP encapsulation destination port
    df_bit: str | None = None


def peer_config(side: int, vpns: list[Vpn]) -> str:
    """`set` lines for peer ``side`` (1 or 2)."""
    other = 3 - side
    lan = "1.1" if side == 1 else "2.2"
    remote_lan = "2.2" if side == 1 else "1.1"
    lines = [
        f"set system host-name peer{side}",
        "set chassis fpc 0 pic 0 inline-services",
    ]
    for vpn in vpns:
        k = vpn.k
        lines += [
            f"set interfaces et-0/1/8 unit 0 family inet address {lan}.{k}.1/24",
            f"set interfaces et-0/2/10 unit 0 family inet address 16.1.{k}.{side}/24",
            f"set interfaces st0 unit {k} family inet",
            f"set routing-options static route {remote_lan}.{k}.0/24 next-hop st0.{k}",
            f"set security ike proposal ike_prop{k} authentication-method pre-shared-keys",
            f"set security ike proposal ike_prop{k} dh-group {vpn.dh_group}",
            f"set security ike proposal ike_prop{k} authentication-algorithm {vpn.ike_integrity}",
            f"set security ike proposal ike_prop{k} encryption-algorithm {vpn.ike_encryption}",
            f"set security ike policy ike_pol{k} proposals ike_prop{k}",
            f'set security ike policy ike_pol{k} pre-shared-key ascii-text "{vpn.psk}"',
            f"set security ike gateway gw{k} ike-policy ike_pol{k}",
            f"set security ike gateway gw{k} address 16.1.{k}.{other}",
            f"set security ike gateway gw{k} local-address 16.1.{k}.{side}",
            f"set security ike gateway gw{k} external-interface et-0/2/10",
            f"set security ike gateway gw{k} version v2-only",
            f"set security ipsec proposal esp{k} protocol esp",
            f"set security ipsec proposal esp{k} encryption-algorithm {vpn.esp_encryption}",
            f"set security ipsec policy ipsec_pol{k} proposals esp{k}",
            f"set security ipsec vpn vpn{k} bind-interface st0.{k}",
            f"set security ipsec vpn vpn{k} ike gateway gw{k}",
            f"set security ipsec vpn vpn{k} ike ipsec-policy ipsec_pol{k}",
            f"set security ipsec vpn vpn{k} establish-tunnels {vpn.establish}",
        ]
        if vpn.dpd:
            mode, interval, threshold = vpn.dpd
            lines += [f"set security ike gateway gw{k} dead-peer-detection {mode}",
                      f"set security ike gateway gw{k} dead-peer-detection interval {interval}",
                      f"set security ike gateway gw{k} dead-peer-detection threshold {threshold}"]
        if vpn.lifetime_kb:
            lines.append(f"set security ipsec proposal esp{k} lifetime-kilobytes {vpn.lifetime_kb}")
        if vpn.tunnel_mtu:
            lines.append(f"set security ipsec vpn vpn{k} tunnel-mtu {vpn.tunnel_mtu}")
        if vpn.df_bit:
            lines.append(f"set security ipsec vpn vpn{k} df-bit {vpn.df_bit}")
        if vpn.udp_encapsulation is not None:
            lines += [
                f"set interfaces si-0/0/0 unit {2 * k} family inet",
                f"set interfaces si-0/0/0 unit {2 * k} service-domain inside",
                f"set interfaces si-0/0/0 unit {2 * k + 1} family inet",
                f"set interfaces si-0/0/0 unit {2 * k + 1} service-domain outside",
                f"set services service-set ss{k} next-hop-service inside-service-interface si-0/0/0.{2 * k}",
                f"set services service-set ss{k} next-hop-service outside-service-interface si-0/0/0.{2 * k + 1}",
                f"set services service-set ss{k} ipsec-vpn vpn{k}",
                f"set services service-set ss{k} udp-encapsulation destination-port {vpn.udp_encapsulation}",
            ]
    return "\n".join(lines) + "\n"


def free_udp_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class DeviceProcess:
    """One `netconf-device serve` process."""

    def __init__(self, name: str, workdir: Path, config: str, wires: list[str], extra: tuple[str, ...] = ()):
        self.name = name
        self.state_dir = workdir / f"{name}-state"
        self.config_path = workdir / f"{name}.set"
        self.config_path.write_text(config)
        self.log_path = workdir / f"{name}.log"
        self.wires = wires
        self.extra = extra
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> DeviceProcess:
        cmd = [sys.executable, "-m", "netconf_device", "serve", "--port", "0", "--state-dir", str(self.state_dir),
               "--user", f"{USER}:{PASSWORD}", "--config", str(self.config_path), *self.extra]
        for wire in self.wires:
            cmd += ["--wire", wire]
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=self._log,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline().decode()
            if not line:
                raise RuntimeError(f"{self.name} exited: {self.log_text()[-2000:]}")
            match = re.search(r"listening on [\d.]+:(\d+)", line)
            if match:
                self.port = int(match.group(1))
                return self
        raise RuntimeError(f"{self.name} did not start in {timeout} s")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdout:
            self.proc.stdout.close()
        self._log.close()
        self.proc = None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def connect(self):
        return connect(self.port)


def connect(port: int):
    return manager.connect(host="127.0.0.1", port=port, username=USER, password=PASSWORD, hostkey_verify=False,
                           look_for_keys=False, allow_agent=False, device_params={"name": "junos"}, timeout=30)


class WireTap:
    """A cable with a probe: relays a UDP wire between two devices and keeps every IP packet it carried.

    Peer1 sends to ``port_a``, peer2 to ``port_b``; packets are ``(direction, bytes)`` with direction
    ``"1>2"`` or ``"2>1"``. Runs in a thread (the devices are other processes)."""

    def __init__(self, wan1: int, wan2: int, limit: int = 100_000) -> None:
        self.a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.a.bind(("127.0.0.1", 0))
        self.b.bind(("127.0.0.1", 0))
        self.port_a, self.port_b = self.a.getsockname()[1], self.b.getsockname()[1]
        self.wan1, self.wan2 = wan1, wan2
        self.packets: list[tuple[str, bytes]] = []
        self.limit = limit
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="wire-tap")
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.a, self.b], [], [], 0.1)
            for sock in ready:
                try:
                    data, _addr = sock.recvfrom(65535)
                except OSError:
                    continue
                if len(self.packets) < self.limit:
                    self.packets.append(("1>2" if sock is self.a else "2>1", data))
                try:
                    if sock is self.a:
                        self.b.sendto(data, ("127.0.0.1", self.wan2))
                    else:
                        self.a.sendto(data, ("127.0.0.1", self.wan1))
                except OSError:
                    pass  # the far device is down: lost, like on a cable

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.a.close()
        self.b.close()


@dataclass
class Pair:
    """Two devices joined on et-0/2/10 by a UDP wire; each LAN (et-0/1/8) wired to a port of this process."""

    peer1: DeviceProcess
    peer2: DeviceProcess
    host_ports: dict[str, tuple[int, int]] = field(default_factory=dict)  # host -> (our port, device's port)
    tap: WireTap | None = None

    def stop(self) -> None:
        for device in (self.peer1, self.peer2):
            device.stop()
        if self.tap is not None:
            self.tap.close()


def start_pair(workdir: Path, vpns1: list[Vpn], vpns2: list[Vpn] | None = None,
               extra: tuple[str, ...] = (), tap: bool = False) -> Pair:
    """Two devices; with ``tap`` their WAN wire passes through a ``WireTap`` that records every packet."""
    vpns2 = vpns2 if vpns2 is not None else vpns1
    wan1, wan2, lan1, h1, lan2, h2 = free_udp_ports(6)
    wire_tap = WireTap(wan1, wan2) if tap else None
    to2 = wire_tap.port_a if wire_tap else wan2  # where peer1 sends, and where peer2 hears peer1 from
    to1 = wire_tap.port_b if wire_tap else wan1
    peer1 = DeviceProcess("peer1", workdir, peer_config(1, vpns1), [
        f"et-0/2/10=udp:127.0.0.1:{wan1}:127.0.0.1:{to2}", f"et-0/1/8=udp:127.0.0.1:{lan1}:127.0.0.1:{h1}"],
        extra)
    peer2 = DeviceProcess("peer2", workdir, peer_config(2, vpns2), [
        f"et-0/2/10=udp:127.0.0.1:{wan2}:127.0.0.1:{to1}", f"et-0/1/8=udp:127.0.0.1:{lan2}:127.0.0.1:{h2}"],
        extra)
    pair = Pair(peer1, peer2, {"host1": (h1, lan1), "host2": (h2, lan2)}, wire_tap)
    try:
        peer1.start()
        peer2.start()
    except Exception:
        pair.stop()
        raise
    return pair


async def open_host(pair: Pair, name: str, vpn_indexes: list[int]):
    """An emulated host on the LAN wire of peer1 (host1) or peer2 (host2), with address x.x.k.2 per VPN."""
    from netconf_device.pfe.wires.host import Host
    from netconf_device.pfe.wires.udp import UdpWire

    ours, theirs = pair.host_ports[name]
    lan = "1.1" if name == "host1" else "2.2"
    wire = await UdpWire(("127.0.0.1", ours), ("127.0.0.1", theirs), name=name).open()
    return Host(wire, [f"{lan}.{k}.2" for k in vpn_indexes], name=name)


def command(m, text: str, fmt: str = "xml"):
    return m.command(text, format=fmt)


def output_text(reply) -> str:
    out = reply.xpath("//output")
    return out[0].text if out else str(reply)


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


async def async_wait_for(predicate, timeout: float = 15.0, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await asyncio.to_thread(predicate)
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def ipsec_sas(m) -> dict[int, list[tuple[str, str]]]:
    """tunnel index -> [(direction, spi)] from `show security ipsec security-associations`."""
    reply = m.command("show security ipsec security-associations", format="xml")
    out: dict[int, list[tuple[str, str]]] = {}
    for sa in reply.xpath("//ipsec-security-associations-block/ipsec-security-associations"):
        out.setdefault(int(sa.findtext("sa-tunnel-index")), []).append(
            (sa.findtext("sa-direction"), sa.findtext("sa-spi")))
    return out


def ike_sas(m) -> list[dict[str, str]]:
    reply = m.command("show security ike security-associations", format="xml")
    return [{c.tag: (c.text or "") for c in sa} for sa in reply.xpath("//ike-security-associations")]


def settled(m1, m2, gateways: int) -> bool:
    """Each peer has exactly one IKE SA per gateway and all are UP: no negotiation (or duplicate from both
    ends initiating at once) is still in flight."""
    for m in (m1, m2):
        sas = ike_sas(m)
        if len(sas) != gateways or any(sa["ike-sa-state"] != "UP" for sa in sas):
            return False
    return True


def statistics(m, index: int | None = None) -> dict[str, int]:
    text = "show security ipsec statistics" + (f" index {index}" if index else "")
    reply = m.command(text, format="xml")
    top = reply.xpath("//usp-ipsec-total-statistics-information")[0]
    return {e.tag: int(e.text) for e in top.iter() if len(e) == 0 and (e.text or "").strip().isdigit()}


__all__ = ["PASSWORD", "USER", "DeviceProcess", "Pair", "Vpn", "replace", "start_pair"]
