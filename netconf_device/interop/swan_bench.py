"""The strongSwan reference for tunnel-setup benchmarks: N tunnels between two charons in two namespaces.

Method (the one ``bench/ike_setup.py`` compares against, in the same run):

* namespaces ``<prefix>-l`` (initiator, 10.200.0.1) and ``<prefix>-r`` (responder, 10.200.0.2) on one veth;
  tunnel *i* has traffic selectors 10.1.X.Y/32 <-> 10.2.X.Y/32 (X = (i-1)/250, Y = (i-1)%250+1), each /32
  also on ``lo`` of its side (kernel-libipsec needs a local address inside the local TS to route);
* both charons: kernel-libipsec, ``threads=16``, ``reuse_ikesa=no`` (one IKE_SA per child),
  ``dos_protection=no`` (all IKE_SA_INITs come from one address), strongSwan's default retransmission
  (4 s, 5 tries, base 1.8: shorter values cause spurious retransmits under load), file log at level 0;
* the responder has one connection (``unique=never``) narrowed to each initiator /32 pair, loaded first;
* the initiator gets only its PSK beforehand. At t0 its connections are loaded over vici (at most 1000
  children per connection: a vici message is limited to 512 KiB), every child with ``start_action=start``,
  so charon initiates them all itself while processing ``load-conn``;
* t1 is when the initiator's log holds N ``CHILD_SA ... established with SPIs`` lines (charon writes and
  flushes that line right after installing the CHILD_SA; the responder installed its own before answering).

No vici events are used: Debian's charon 5.9.8 can deadlock while writing events (strongswan#566).
Outside the timed window it checks the responder's count, both IKE_SA tables, and (``ping=True``) a ping
through tunnels 1 and N with their ESP in-counters.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from netconf_device.interop import netns
from netconf_device.interop.strongswan import Charon, StrongswanError, ike_sa_from_raw, stop_all
from netconf_device.interop.swanctl_conf import CharonSettings, Child, Connection

log = logging.getLogger("netconf_device.interop.swan_bench")

PSK = "bench-psk-netconf-device"
CHILDREN_PER_CONN = 1000
MAX_TUNNELS = 64000
_ESTABLISHED = re.compile(rb"<([^|>]*)\|(\d+)> CHILD_SA ([^{ ]+)\{\d+\} established with SPIs")
_CLK_TCK = os.sysconf("SC_CLK_TCK")


def tunnel_hosts(i: int) -> tuple[str, str]:
    """(initiator-side, responder-side) inner address of tunnel ``i`` (1-based)."""
    if not 1 <= i <= MAX_TUNNELS:
        raise ValueError(f"tunnel index {i} out of 1..{MAX_TUNNELS}")
    x, y = divmod(i - 1, 250)
    return f"10.1.{x}.{y + 1}", f"10.2.{x}.{y + 1}"


@dataclass(frozen=True)
class TunnelBenchResult:
    tunnels: int
    established: int
    seconds: float
    ike: str
    esp: str
    cpu_initiator: float
    cpu_responder: float
    responder_established: int
    ike_sas_initiator: int
    ike_sas_responder: int
    udp_out_initiator: int
    udp_out_responder: int  # 2 per tunnel each without retransmissions
    udp_drops: int  # receive-buffer drops in both namespaces during the window
    dataplane_ok: bool | None
    errors: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return (self.established == self.tunnels and self.responder_established >= self.tunnels
                and not self.errors and self.dataplane_ok is not False)

    def line(self) -> str:
        return f"strongswan_tunnels: tunnels={self.tunnels} seconds={self.seconds:.3f} ike={self.ike}"


def process_cpu_seconds(pid: int | None) -> float:
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK  # utime + stime of all threads


def _udp_counters(pid: int | None) -> tuple[int, int]:
    """(datagrams sent, datagrams dropped on receive) in the process's network namespace."""
    if pid is None:
        return 0, 0
    with open(f"/proc/{pid}/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Udp:")]
    udp = {k: int(v) for k, v in zip(rows[0][1:], rows[1][1:], strict=False)}
    return udp.get("OutDatagrams", 0), udp.get("RcvbufErrors", 0) + udp.get("InErrors", 0)


class _LogTail:
    """Counts ``CHILD_SA c<i>{..} established`` lines appended to a charon log; remembers each child's
    IKE_SA unique id (for targeted list-sas afterwards)."""

    def __init__(self, path: Path) -> None:
        self._f = open(path, "rb")  # noqa: SIM115 - closed in close()
        self._rest = b""
        self.count = 0
        self.ike_of: dict[str, int] = {}

    def poll(self) -> int:
        data = self._f.read()
        if not data:
            return 0
        lines = (self._rest + data).split(b"\n")
        self._rest = lines.pop()
        new = 0
        for line in lines:
            m = _ESTABLISHED.search(line)
            if m:
                new += 1
                self.ike_of[m.group(3).decode()] = int(m.group(2))
        self.count += new
        return new

    def close(self) -> None:
        self._f.close()


def _settings(**kw) -> CharonSettings:
    return CharonSettings(
        threads=16, reuse_ikesa=False, dos_protection=False, retransmit_timeout=4.0, retransmit_tries=5,
        retransmit_base=1.8, log_levels={"default": 0}, **kw,
    )


def _initiator_conns(n: int, ike: str, esp: str) -> list[Connection]:
    conns = []
    for start in range(1, n + 1, CHILDREN_PER_CONN):
        children = tuple(
            Child(name=f"c{i}", local_ts=(tunnel_hosts(i)[0] + "/32",), remote_ts=(tunnel_hosts(i)[1] + "/32",),
                  esp_proposals=tuple(esp.split(",")), start_action="start")
            for i in range(start, min(n, start + CHILDREN_PER_CONN - 1) + 1)
        )
        conns.append(Connection(
            name=f"bench{len(conns) + 1}", local_addrs=("10.200.0.1",), remote_addrs=("10.200.0.2",),
            proposals=tuple(ike.split(",")), psk=PSK, unique="never", children=children,
        ))
    return conns


def run_once(
    topo: netns.NetnsPair,
    workdir: Path,
    n: int,
    ike: str,
    esp: str,
    *,
    timeout: float | None = None,
    stall: float = 60.0,
    ping: bool = True,
) -> TunnelBenchResult:
    """One measurement with two fresh charons on an existing topology (see ``measure``)."""
    timeout = timeout if timeout is not None else 60 + n / 20
    for d in ("init", "resp"):
        shutil.rmtree(workdir / d, ignore_errors=True)
    resp = Charon(workdir, "resp", netns=topo.right.name, settings=_settings())
    init = Charon(workdir, "init", netns=topo.left.name, settings=_settings())
    errors: list[str] = []
    tails: tuple[_LogTail, ...] = ()
    try:
        resp.start(timeout=30)
        init.start(timeout=30)
        resp.load(Connection(
            name="bench", local_addrs=("10.200.0.2",), remote_addrs=("10.200.0.1",), proposals=tuple(ike.split(",")),
            psk=PSK, unique="never",
            children=(Child(name="net", local_ts=("10.2.0.0/16",), remote_ts=("10.1.0.0/16",),
                            esp_proposals=tuple(esp.split(","))),),
        ))
        conns = _initiator_conns(n, ike, esp)
        messages = [c.to_vici() for c in conns]
        tail = _LogTail(init.log_path)
        resp_tail = _LogTail(resp.log_path)
        tails = (tail, resp_tail)
        with init.vici(timeout=max(60.0, timeout)) as v:
            v.load_shared(conns[0].vici_shared_secret() or {})
            cpu0 = (process_cpu_seconds(init.pid), process_cpu_seconds(resp.pid))
            udp0 = (_udp_counters(init.pid), _udp_counters(resp.pid))
            t0 = time.monotonic()
            for msg in messages:
                v.load_conn(msg)
            deadline, last_progress = t0 + timeout, t0
            while tail.count < n:
                now = time.monotonic()
                if tail.poll():
                    last_progress = now
                    continue
                if now > deadline:
                    errors.append(f"only {tail.count}/{n} tunnels within {timeout:.0f}s")
                    break
                if now - last_progress > stall:
                    errors.append(f"stalled at {tail.count}/{n} tunnels for {stall:.0f}s")
                    break
                if not init.running:
                    errors.append("initiator charon died")
                    break
                time.sleep(0.002)
            t1 = time.monotonic()
            cpu1 = (process_cpu_seconds(init.pid), process_cpu_seconds(resp.pid))
            udp1 = (_udp_counters(init.pid), _udp_counters(resp.pid))
            time.sleep(0.3)
            tail.poll()
            resp_tail.poll()
            ike_counts = []
            for c in (init, resp):
                try:
                    with c.vici(timeout=30) as cv:
                        ike_counts.append(int(cv.stats().get("ikesas", {}).get("total", -1)))
                except Exception as exc:
                    ike_counts.append(-1)
                    errors.append(f"vici stats on {c.name}: {exc}")
        dataplane = _check_dataplane(topo, init, tail, n) if ping and not errors else None
        if dataplane is False:
            errors.append("data plane check failed (ping through tunnel 1 or N)")
        return TunnelBenchResult(
            tunnels=n, established=min(tail.count, n), seconds=round(t1 - t0, 3), ike=ike, esp=esp,
            cpu_initiator=round(cpu1[0] - cpu0[0], 2), cpu_responder=round(cpu1[1] - cpu0[1], 2),
            responder_established=resp_tail.count, ike_sas_initiator=ike_counts[0], ike_sas_responder=ike_counts[1],
            udp_out_initiator=udp1[0][0] - udp0[0][0], udp_out_responder=udp1[1][0] - udp0[1][0],
            udp_drops=(udp1[0][1] - udp0[0][1]) + (udp1[1][1] - udp0[1][1]), dataplane_ok=dataplane,
            errors=tuple(errors),
        )
    finally:
        for t in tails:
            t.close()
        stop_all([init, resp], timeout=60)


def _check_dataplane(topo: netns.NetnsPair, init: Charon, tail: _LogTail, n: int) -> bool:
    for i in sorted({1, n}):
        src, dst = tunnel_hosts(i)
        proc = topo.left.run(["ping", "-q", "-c", "2", "-i", "0.2", "-W", "3", "-I", src, dst], check=False)
        if proc.returncode != 0:
            log.warning("no ping reply through tunnel %d", i)
            return False
        uid = tail.ike_of.get(f"c{i}")
        with init.vici(timeout=30) as v:
            sas = v.list_sas(ike_id=uid) if uid is not None else []
        counted = any(
            c.name == f"c{i}" and c.packets_in > 0
            for item in sas for name, body in item.items() if isinstance(body, dict)
            for c in ike_sa_from_raw(name, body).children
        )
        if not counted:
            log.warning("CHILD_SA c%d counted no inbound ESP", i)
            return False
    return True


def measure(
    n: int,
    ike: str = "aes256-sha256-ecp256",
    esp: str = "aes256gcm16",
    *,
    repeat: int = 1,
    prefix: str | None = None,
    workdir: str | os.PathLike[str] | None = None,
    ping: bool = True,
    timeout: float | None = None,
) -> list[TunnelBenchResult]:
    """Build the topology once, run ``repeat`` measurements with fresh charons, tear everything down."""
    netns.require_root("the strongSwan tunnel benchmark")
    if not 1 <= n <= MAX_TUNNELS:
        raise ValueError(f"tunnels must be 1..{MAX_TUNNELS}")
    prefix = prefix or f"ndswb{os.getpid() % 100000}"
    tmp = tempfile.mkdtemp(prefix="ndsw-bench-", dir=workdir)
    try:
        with netns.NetnsPair(prefix) as topo:
            topo.left.add_addresses(tunnel_hosts(i)[0] + "/32" for i in range(1, n + 1))
            topo.right.add_addresses(tunnel_hosts(i)[1] + "/32" for i in range(1, n + 1))
            return [run_once(topo, Path(tmp), n, ike, esp, ping=ping, timeout=timeout) for _ in range(repeat)]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def strongswan_tunnel_seconds(n: int, ike: str = "aes256-sha256-ecp256", esp: str = "aes256gcm16",
                              *, repeat: int = 1, ping: bool = False) -> float:
    """Median seconds for N tunnels (what ``bench/ike_setup.py`` needs). Raises if a run failed."""
    runs = measure(n, ike, esp, repeat=repeat, ping=ping)
    failed = [r for r in runs if not r.ok]
    if failed:
        raise StrongswanError(f"strongSwan reference failed: {failed[0].errors or failed[0]}")
    return statistics.median(r.seconds for r in runs)
