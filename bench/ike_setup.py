#!/usr/bin/env python3
"""IKE tunnel setup benchmark: N tunnels (IKE SA + child SA each) between two of our IKE daemons over loopback
sockets, against N tunnels between two strongSwan charons with the same proposals, measured in the same run.

    python bench/ike_setup.py                                  # N = 100, 2000 x group 19, group 14
    python bench/ike_setup.py --tunnels 2000 --groups 19 --repeat 3
    python bench/ike_setup.py --no-strongswan                  # ours only (no root needed)

Method (ours): two processes, as the two charons are: a responder daemon with N gateways (local 127.1.X.Y,
peer 127.0.0.1, responder-only) and an initiator daemon with N gateways (local 127.0.0.1, peer 127.1.X.Y,
establish-tunnels immediately), both with one UDP socket per port on the wildcard address (IP_PKTINFO picks the
source address). Tunnel i has the selectors 10.1.X.Y/32 <-> 10.2.X.Y/32 (X = (i-1)/250, Y = (i-1)%250+1), PSK,
IKE aes-256-cbc/sha-256 with the given group, ESP aes-256-gcm. t0 is when the initiator applies its intent,
t1 when it has emitted N ChildSaInstalled events (the responder installs its own before it answers). COOKIEs
are off (cookie threshold above N), as strongSwan's dos_protection is in the reference.

strongSwan: ``netconf_device.interop.swan_bench`` (two charons in two namespaces, same proposals and PSK, see
docs/interop-strongswan.md). Needs root; skipped with --no-strongswan.

CPU: wall time swings with the machine's load (other processes get the cores), CPU time much less. Both sides
are measured the same way: utime + stime of the two processes from /proc/<pid>/stat (all threads), read just
before t0 and just after t1 -- our two daemons by this driver, the two charons by ``swan_bench``.

Output: one line per measurement, then per (N, group) a summary line with wall and CPU seconds of both sides
    ike_setup_case: tunnels=<n> group=<g> seconds=<s> cpu_seconds=<s> strongswan_seconds=<s>
                    strongswan_cpu_seconds=<s> ratio=<wall ours/strongswan> cpu_ratio=<cpu ours/strongswan>
(medians over --repeat runs), then the headline's CPU line
    ike_setup_cpu: tunnels=<n> cpu_seconds=<s> strongswan_cpu_seconds=<s> cpu_ratio=<ours/strongswan>
and as the very last line the headline (the largest N with group 19 unless --headline says otherwise):
    ike_setup: tunnels=<n> seconds=<s> strongswan_seconds=<s> ratio=<ours/strongswan>
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from netconf_device import sa as contract  # noqa: E402
from netconf_device.config.intent import (  # noqa: E402
    IkeGateway,
    IkePolicy,
    IkeProposal,
    Intent,
    IpsecPolicy,
    IpsecProposal,
    IpsecVpn,
    TrafficSelector,
)
from netconf_device.ike.daemon import IkeDaemon  # noqa: E402
from netconf_device.ike.options import EngineOptions  # noqa: E402
from netconf_device.interop.swan_bench import process_cpu_seconds  # noqa: E402

PSK = b"bench-psk-netconf-device"
SWAN_IKE = {19: "aes256-sha256-ecp256", 14: "aes256-sha256-modp2048"}
SWAN_ESP = "aes256gcm16"
INITIATOR_ADDR = "127.0.0.1"


def tunnel_addrs(i: int) -> tuple[str, str, str, str]:
    """(responder outer, initiator inner, responder inner) for tunnel i (1-based); outer of initiator fixed."""
    x, y = divmod(i - 1, 250)
    return f"127.1.{x}.{y + 1}", f"10.1.{x}.{y + 1}", f"10.2.{x}.{y + 1}", INITIATOR_ADDR


def build_intent(n: int, group: int, role: str) -> Intent:
    ike = IkeProposal("bench-ike", dh_group=f"group{group}", authentication_algorithm="sha-256",
                      encryption_algorithm="aes-256-cbc")
    esp = IpsecProposal("bench-esp", encryption_algorithm="aes-256-gcm")
    policy = IkePolicy("bench-pol", proposals=(ike,), pre_shared_key=PSK)
    ipol = IpsecPolicy("bench-ipsec", proposals=(esp,))
    gws, vpns = {}, {}
    for i in range(1, n + 1):
        resp_outer, init_inner, resp_inner, init_outer = tunnel_addrs(i)
        if role == "responder":
            local, remote, lnet, rnet, mode = resp_outer, init_outer, resp_inner, init_inner, "responder-only"
        else:
            local, remote, lnet, rnet, mode = init_outer, resp_outer, init_inner, resp_inner, "immediately"
        gw = IkeGateway(f"gw{i}", policy, addresses=(remote,), local_address=ipaddress.ip_address(local))
        gws[gw.name] = gw
        ts = TrafficSelector("ts", ipaddress.ip_network(f"{lnet}/32"), ipaddress.ip_network(f"{rnet}/32"))
        vpns[f"vpn{i}"] = IpsecVpn(f"vpn{i}", f"st0.{i}", 500000 + i, gateway=gw, ipsec_policy=ipol,
                                   establish_tunnels=mode, traffic_selectors=(ts,))
    return Intent(ike_proposals={ike.name: ike}, ike_policies={policy.name: policy}, ike_gateways=gws,
                  ipsec_proposals={esp.name: esp}, ipsec_policies={ipol.name: ipol}, ipsec_vpns=vpns)


# ------------------------------------------------------------------------------------------- node process
async def node(role: str, n: int, group: int, ports: list[int]) -> None:
    """One daemon, driven over stdin/stdout with one JSON object per line."""
    own_ike, own_natt, peer_ike, peer_natt = ports if role == "initiator" else [ports[2], ports[3], ports[0],
                                                                                  ports[1]]
    installed = 0
    done = asyncio.Event()

    def on_event(ev) -> None:
        nonlocal installed
        if isinstance(ev, contract.ChildSaInstalled):
            installed += 1
            if installed >= n:
                done.set()

    opts = EngineOptions(device_name=role, ike_port=own_ike, natt_port=own_natt, remote_ike_port=peer_ike,
                         remote_natt_port=peer_natt, cookie_threshold=n + 1000, half_open_limit=4 * n + 1000,
                         max_ike_sas=4 * n + 1000, retransmit_timeout=4.0, retransmit_base=1.8)
    daemon = IkeDaemon(opts, ipv6=False, on_event=on_event)
    await daemon.start()
    intent = build_intent(n, group, role)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def say(**kw) -> None:
        sys.stdout.write(json.dumps(kw) + "\n")
        sys.stdout.flush()

    if role == "responder":
        daemon.apply_intent(intent)
    say(ready=True)
    while True:
        line = await reader.readline()
        if not line:
            break
        cmd = json.loads(line)["cmd"]
        if cmd == "go":
            t0 = time.monotonic()
            daemon.apply_intent(intent)
            try:
                await asyncio.wait_for(done.wait(), timeout=60 + n / 20)
                ok = True
            except TimeoutError:
                ok = False
            t1 = time.monotonic()
            say(ok=ok, seconds=t1 - t0, installed=installed,
                tx=daemon.transport.stats["tx"], rx=daemon.transport.stats["rx"],
                retransmits=sum(s.counters.retransmits for s in daemon.engine.sas.values()))
        elif cmd == "count":
            ups = sum(1 for s in daemon.engine.sas.values() if s.state == "ESTABLISHED")
            say(installed=installed, ike_sas=ups, tx=daemon.transport.stats["tx"],
                rx=daemon.transport.stats["rx"], errors=daemon.engine.stats["internal_errors"])
        elif cmd == "quit":
            break
    await daemon.stop(graceful=False)


# ------------------------------------------------------------------------------------------- driver
def _free_ports(count: int) -> list[int]:
    ports: list[int] = []
    socks = []
    try:
        while len(ports) < count:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("0.0.0.0", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


class Node:
    def __init__(self, role: str, n: int, group: int, ports: list[int]):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--node", role, "--tunnels", str(n), "--groups", str(group),
             "--ports", ",".join(map(str, ports))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        self.read()  # ready

    def send(self, **kw) -> dict:
        self.proc.stdin.write(json.dumps(kw) + "\n")
        self.proc.stdin.flush()
        return self.read()

    def read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"benchmark node exited ({self.proc.wait()})")
        return json.loads(line)

    def close(self) -> None:
        try:
            self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def measure_ours(n: int, group: int) -> dict:
    ports = _free_ports(4)
    responder = Node("responder", n, group, ports)
    initiator = Node("initiator", n, group, ports)
    try:
        cpu0 = (process_cpu_seconds(initiator.proc.pid), process_cpu_seconds(responder.proc.pid))
        res = initiator.send(cmd="go")
        cpu1 = (process_cpu_seconds(initiator.proc.pid), process_cpu_seconds(responder.proc.pid))
        peer = responder.send(cmd="count")
    finally:
        initiator.close()
        responder.close()
    res["cpu_initiator"], res["cpu_responder"] = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
    res["responder_installed"] = peer["installed"]
    res["responder_ike_sas"] = peer["ike_sas"]
    res["ok"] = bool(res["ok"] and peer["installed"] >= n and not peer["errors"])
    return res


def measure_swan(n: int, group: int, repeat: int) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds of both charons; raises if a run failed."""
    from netconf_device.interop.strongswan import StrongswanError
    from netconf_device.interop.swan_bench import measure

    runs = measure(n, SWAN_IKE[group], SWAN_ESP, repeat=repeat, ping=False)
    for i, r in enumerate(runs, 1):
        print(f"strongswan run {i}/{repeat}: tunnels={r.established}/{n} group={group} seconds={r.seconds:.3f} "
              f"cpu_initiator={r.cpu_initiator:.2f}s cpu_responder={r.cpu_responder:.2f}s "
              f"datagrams_out={r.udp_out_initiator}/{r.udp_out_responder} ok={r.ok}", flush=True)
    failed = [r for r in runs if not r.ok]
    if failed:
        raise StrongswanError(f"strongSwan reference failed: {failed[0].errors or failed[0]}")
    return (statistics.median(r.seconds for r in runs),
            statistics.median(r.cpu_initiator + r.cpu_responder for r in runs))


def _ratio(ours: float, reference: float | None) -> str:
    return f"{ours / reference:.3f}" if reference else "n/a"


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tunnels", type=int, nargs="+", default=[100, 2000])
    ap.add_argument("--groups", type=int, nargs="+", default=[19, 14], choices=[19, 14])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--no-strongswan", action="store_true")
    ap.add_argument("--headline", default=None, help="N,group of the last line (default: largest N, group 19)")
    ap.add_argument("--node", choices=["responder", "initiator"], help=argparse.SUPPRESS)
    ap.add_argument("--ports", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.node:
        asyncio.run(node(args.node, args.tunnels[0], args.groups[0], [int(p) for p in args.ports.split(",")]))
        return 0
    with_swan = not args.no_strongswan
    if with_swan and os.geteuid() != 0:
        print("ike_setup: strongSwan reference needs root (use --no-strongswan for ours only)", file=sys.stderr)
        return 2
    # (N, group) -> (ours wall, ours CPU, strongSwan wall, strongSwan CPU), medians over the runs
    summary: dict[tuple[int, int], tuple[float, float, float | None, float | None]] = {}
    ok = True
    for n in args.tunnels:
        for group in args.groups:
            walls, cpus = [], []
            for i in range(args.repeat):
                r = measure_ours(n, group)
                ok &= r["ok"]
                walls.append(r["seconds"])
                cpus.append(r["cpu_initiator"] + r["cpu_responder"])
                print(f"ours run {i + 1}/{args.repeat}: tunnels={r['installed']}/{n} group={group} "
                      f"seconds={r['seconds']:.3f} cpu_initiator={r['cpu_initiator']:.2f}s "
                      f"cpu_responder={r['cpu_responder']:.2f}s responder_installed={r['responder_installed']} "
                      f"datagrams_out={r['tx']} retransmits={r['retransmits']} ok={r['ok']}", flush=True)
            ours_s, ours_cpu = statistics.median(walls), statistics.median(cpus)
            swan_s, swan_cpu = measure_swan(n, group, args.repeat) if with_swan else (None, None)
            summary[(n, group)] = (ours_s, ours_cpu, swan_s, swan_cpu)
            print(f"ike_setup_case: tunnels={n} group={group} seconds={ours_s:.3f} cpu_seconds={ours_cpu:.3f} "
                  f"strongswan_seconds={_seconds(swan_s)} strongswan_cpu_seconds={_seconds(swan_cpu)} "
                  f"ratio={_ratio(ours_s, swan_s)} cpu_ratio={_ratio(ours_cpu, swan_cpu)}", flush=True)
    if args.headline:
        hn, hg = (int(x) for x in args.headline.split(","))
    else:
        hn, hg = max(args.tunnels), (19 if 19 in args.groups else args.groups[0])
    ours_s, ours_cpu, swan_s, swan_cpu = summary[(hn, hg)]
    print(f"ike_setup_cpu: tunnels={hn} cpu_seconds={ours_cpu:.3f} strongswan_cpu_seconds={_seconds(swan_cpu)} "
          f"cpu_ratio={_ratio(ours_cpu, swan_cpu)}", flush=True)
    print(f"ike_setup: tunnels={hn} seconds={ours_s:.3f} strongswan_seconds={_seconds(swan_s)} "
          f"ratio={_ratio(ours_s, swan_s)}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
