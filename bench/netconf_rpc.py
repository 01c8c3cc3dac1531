"""NETCONF benchmark: RPC latency, 100 concurrent sessions, and a 2000-VPN load + commit.

    python bench/netconf_rpc.py [--rpcs 500] [--sessions 100] [--per-session 20] [--vpns 2000]

Starts ``netconf-device serve`` (a separate process, as users run it) and, as the reference measured in
the same run, a bare asyncssh server whose ``netconf`` subsystem echoes every message back: the ratio
device/reference says what the device adds on top of SSH itself. The client is a small asyncssh client
that does not poll (ncclient sleeps up to 100 ms per read unless its TICK is lowered).
Last line: ``netconf_rpc: p50_ms=<x> p99_ms=<x> sessions=<n> errors=<n>``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncssh

REPO = Path(__file__).resolve().parents[1]
EOM = b"]]>]]>"
HELLO = (b'<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities>'
         b"<capability>urn:ietf:params:netconf:base:1.0</capability></capabilities></hello>" + EOM)
RPC = b'<rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="%d">%s</rpc>' + EOM


# ------------------------------------------------------------------------------------- reference server
class _Echo(asyncssh.SSHServerSession):
    def connection_made(self, chan):
        self._chan = chan
        self._buf = b""

    def subsystem_requested(self, subsystem):
        return subsystem == "netconf"

    def session_started(self):
        self._chan.write(b"<hello/>" + EOM)

    def data_received(self, data, datatype):
        self._buf += data
        while EOM in self._buf:
            message, _, self._buf = self._buf.partition(EOM)
            if b"<hello" not in message:
                self._chan.write(message + EOM)


class _EchoServer(asyncssh.SSHServer):
    def begin_auth(self, username):
        return True

    def password_auth_supported(self):
        return True

    def validate_password(self, username, password):
        return password == "admin123"

    def session_requested(self):
        return _Echo()


async def _echo_main() -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    server = await asyncssh.create_server(_EchoServer, "127.0.0.1", 0, server_host_keys=[key], encoding=None)
    print(f"listening on 127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    await asyncio.Event().wait()


# ------------------------------------------------------------------------------------- client
class Client:
    def __init__(self, conn, writer, reader):
        self.conn, self.writer, self.reader = conn, writer, reader
        self.mid = 0

    @classmethod
    async def open(cls, port: int) -> Client:
        conn = await asyncssh.connect("127.0.0.1", port, username="admin", password="admin123", known_hosts=None,
                                      client_keys=None, preferred_auth="password")
        writer, reader, _ = await conn.open_session(subsystem="netconf", encoding=None)
        await reader.readuntil(EOM)
        writer.write(HELLO)
        return cls(conn, writer, reader)

    async def call(self, body: bytes) -> bytes:
        self.mid += 1
        self.writer.write(RPC % (self.mid, body))
        return await self.reader.readuntil(EOM)

    def close(self) -> None:
        self.conn.close()


def _start(args: list[str]) -> tuple[subprocess.Popen, int, float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    for _ in range(50):
        line = proc.stdout.readline()
        match = re.search(rb"listening on [\d.]+:(\d+)", line)
        if match:
            return proc, int(match.group(1)), time.perf_counter() - t0
    proc.kill()
    raise RuntimeError("server did not start")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def latency(port: int, n: int) -> list[float]:
    client = await Client.open(port)
    body = b"<get-software-information/>"
    for _ in range(20):  # warm-up
        await client.call(body)
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        await client.call(body)
        samples.append((time.perf_counter() - t0) * 1000)
    client.close()
    return samples


async def concurrent(port: int, sessions: int, per_session: int, expect: bytes = b"<software-information>"
                     ) -> tuple[int, int, float]:
    errors = 0
    done = 0

    async def one() -> None:
        nonlocal errors, done
        try:
            client = await Client.open(port)
            for _ in range(per_session):
                reply = await client.call(b"<get-software-information/>")
                if expect not in reply:
                    errors += 1
                else:
                    done += 1
            client.close()
        except Exception:
            errors += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(sessions)))
    return done, errors, time.perf_counter() - t0


def _process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) the process has used so far (Linux /proc), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


async def load_commit(port: int, vpns: int, pid: int) -> tuple[float, float, int, tuple]:
    """Wall seconds of the load and the commit, errors, and the server's CPU seconds for each (the wall time
    on a shared machine includes waiting for a core; the CPU time is the device's own work)."""
    from netconf_device.config.generate import vpn_config

    text = vpn_config(vpns).encode()
    client = await Client.open(port)
    errors = 0
    await client.call(b"<lock-configuration/>")
    c0 = _process_cpu(pid)
    t0 = time.perf_counter()
    reply = await client.call(b'<load-configuration action="set" format="text"><configuration-set>%s'
                              b"</configuration-set></load-configuration>" % text)
    t_load = time.perf_counter() - t0
    c1 = _process_cpu(pid)
    errors += b"rpc-error" in reply
    t1 = time.perf_counter()
    reply = await client.call(b"<commit-configuration><log>bench</log></commit-configuration>")
    t_commit = time.perf_counter() - t1
    c2 = _process_cpu(pid)
    errors += b"<commit-success/>" not in reply
    if errors:
        print(reply[:2000].decode(errors="replace"), file=sys.stderr)
    await client.call(b"<unlock-configuration/>")
    client.close()
    cpu = (c1 - c0, c2 - c1) if None not in (c0, c1, c2) else (None, None)
    return t_load, t_commit, errors, cpu


async def main(args: argparse.Namespace) -> int:
    state = tempfile.mkdtemp(prefix="bench-netconf-")
    device, dport, t_device = _start([sys.executable, "-m", "netconf_device", "serve", "--port", "0", "--state-dir",
                                      state, "--user", "admin:admin123", "--log-level", "warning"])
    echo, eport, t_echo = _start([sys.executable, __file__, "--echo-server"])
    try:
        ref = await latency(eport, args.rpcs)
        dev = await latency(dport, args.rpcs)
        done, c_errors, elapsed = await concurrent(dport, args.sessions, args.per_session)
        rdone, _, relapsed = await concurrent(eport, args.sessions, args.per_session, b"<get-software-information/>")
        t_load, t_commit, l_errors, server_cpu = await load_commit(dport, args.vpns, device.pid)
    finally:
        for proc in (device, echo):
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(state, ignore_errors=True)
    p50, p99 = statistics.median(dev), _pct(dev, 0.99)
    r50, r99 = statistics.median(ref), _pct(ref, 0.99)
    print(f"start until listening: device {t_device * 1000:.0f} ms, reference echo server {t_echo * 1000:.0f} ms")
    print(f"reference (asyncssh echo subsystem): p50 {r50:.3f} ms  p99 {r99:.3f} ms")
    print(f"get-software-information:            p50 {p50:.3f} ms  p99 {p99:.3f} ms  "
          f"ratio p50 {p50 / r50:.2f}x reference")
    print(f"{args.sessions} concurrent sessions x {args.per_session} RPCs: {done} ok, {c_errors} errors, "
          f"{done / elapsed:.0f} RPC/s (reference echo {rdone / relapsed:.0f} msg/s, "
          f"ratio {(done / elapsed) / (rdone / relapsed):.2f})")
    cpu_note = "" if server_cpu[0] is None else (
        f" (device CPU: load {server_cpu[0] * 1000:.0f} ms, commit {server_cpu[1] * 1000:.0f} ms)")
    print(f"{args.vpns}-VPN configuration: load {t_load * 1000:.0f} ms, commit {t_commit * 1000:.0f} ms{cpu_note}, "
          f"{l_errors} errors")
    errors = c_errors + l_errors
    print(f"netconf_rpc: p50_ms={p50:.3f} p99_ms={p99:.3f} sessions={args.sessions} errors={errors}")
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rpcs", type=int, default=500)
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--per-session", type=int, default=20)
    parser.add_argument("--vpns", type=int, default=2000)
    parser.add_argument("--echo-server", action="store_true", help=argparse.SUPPRESS)
    ns = parser.parse_args()
    sys.path.insert(0, str(REPO))
    os.chdir(REPO)
    if ns.echo_server:
        asyncio.run(_echo_main())
    else:
        sys.exit(asyncio.run(main(ns)))
