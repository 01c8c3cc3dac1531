"""Helpers for the device tests: configurations of two peers, started as a lab (``netconf_device.lab``: one
`serve` process per device, joined by UDP wires, emulated hosts on the LAN wires), NETCONF access.

Topology (VPN k = 1..N; the seed's example is N = 1 with the addresses below):

    Host1 (1.1.k.2) --udp-- [et-0/1/8 1.1.k.1] peer1 [et-0/2/10 16.1.k.1] --udp-- [16.1.k.2 et-0/2/10] peer2
                                                                    [et-0/1/8 2.2.k.1] --udp-- Host2 (2.2.k.2)

Peer1 routes 2.2.k.0/24 into st0.k, peer2 routes 1.1.k.0/24 into st0.k; VPN k uses gateway gw_k between
16.1.k.1 and 16.1.k.2, tunnel index 500000 + k.
"""

from __future__ import annotations

import asyncio
import signal
import time
from dataclasses import dataclass, replace
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




def connect(port: int):
    return manager.connect(host="127.0.0.1", port=port, username=USER, password=PASSWORD, hostkey_verify=False,
                           look_for_keys=False, allow_agent=False, device_params={"name": "junos"}, timeout=30)


class Peer:
    """One device of a test lab (``netconf_device.lab``), with the few calls the device tests need."""

    def __init__(self, lab, name: str) -> None:
        self.lab = lab
        self.name = name

    @property
    def device(self):
        return self.lab.device(self.name)

    @property
    def port(self) -> int:
        return self.device.port

    def connect(self):
        return self.device.connect(timeout=30)

    def log_text(self) -> str:
        path = self.device.log_path
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if sig == signal.SIGKILL:
            self.device.kill()
        else:
            self.device.stop()

    def start(self) -> None:
        self.device.start()


@dataclass
class Pair:
    """Two devices of a lab: WAN link peer1:et-0/2/10 -- peer2:et-0/2/10, host1/host2 on their et-0/1/8."""

    lab: object
    peer1: Peer
    peer2: Peer

    def run_hosts(self, fn):
        """Run ``fn(hosts)`` (a coroutine function; ``hosts["host1"]`` ...) on the lab's host event loop."""
        return self.lab.hosts_runner().run(fn)

    def stop(self) -> None:
        self.lab.down()


def lab_yaml(name: str, vpns1: list[Vpn], vpns2: list[Vpn]) -> str:
    def host(device: str, lan: str, vpns: list[Vpn]) -> str:
        addresses = ", ".join(f"{lan}.{v.k}.2/24" for v in vpns)
        return (f"    attach: {device}:et-0/1/8\n    addresses: [{addresses}]\n"
                f"    gateway: {lan}.{vpns[0].k}.1\n")

    return (f"name: {name}\ndefaults:\n  user: {USER}\n  password: {PASSWORD}\n"
            "devices:\n  peer1:\n    config: peer1.set\n  peer2:\n    config: peer2.set\n"
            f"hosts:\n  host1:\n{host('peer1', '1.1', vpns1)}  host2:\n{host('peer2', '2.2', vpns2)}"
            "links:\n  - peer1:et-0/2/10 peer2:et-0/2/10\n")


def start_pair(workdir: Path, vpns1: list[Vpn], vpns2: list[Vpn] | None = None, *,
               configs: tuple[str, str] | None = None, netns_hosts: bool = False) -> Pair:
    """A lab of two devices configured by ``peer_config`` (or ``configs``), started without waiting for
    tunnels (tests wait for what they expect, including tunnels that must stay down)."""
    from netconf_device.lab import Lab

    vpns2 = vpns2 if vpns2 is not None else vpns1
    directory = workdir / "lab"
    directory.mkdir(parents=True)
    first, second = configs or (peer_config(1, vpns1), peer_config(2, vpns2))
    (directory / "peer1.set").write_text(first)
    (directory / "peer2.set").write_text(second)
    (directory / "lab.yaml").write_text(lab_yaml("nddev-" + workdir.name[-8:].lower().replace("_", "-"),
                                                 vpns1, vpns2))
    lab = Lab.load(directory, state_dir=workdir / "state", netns_hosts=netns_hosts)
    lab.up(wait=False)
    return Pair(lab, Peer(lab, "peer1"), Peer(lab, "peer2"))


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


__all__ = ["PASSWORD", "USER", "Pair", "Peer", "Vpn", "replace", "start_pair"]
