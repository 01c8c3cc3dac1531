"""Helpers of the NETCONF tests: a real `netconf-device serve` process and a raw NETCONF client.

The device is started exactly as a user starts it (``python -m netconf_device serve``) with the seed's
peer1 configuration (user ``lab``/``lab123``, super-user) plus a bootstrap ``admin``/``admin123`` and
read-only/operator users added by the tests that need them.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import asyncssh

from netconf_device.show.junos_version import junos_area_ns

REPO = Path(__file__).resolve().parents[2]
SEED_PEER1 = REPO / "labs" / "mx304-p2p" / "peer1.set"
EOM = b"]]>]]>"
NC = "{urn:ietf:params:xml:ns:netconf:base:1.0}"
IF = f"{{{junos_area_ns('interface')}}}"  # Junos' own namespace of interface-information
CH = f"{{{junos_area_ns('chassis')}}}"  # ... of chassis-inventory and route-engine-information
CLIENT_HELLO_10 = (
    b'<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities>'
    b"<capability>urn:ietf:params:netconf:base:1.0</capability></capabilities></hello>" + EOM
)




def wait_for(what: str, check, timeout: float = 60.0, step: float = 0.3):
    """Poll ``check`` until it returns something truthy (returned); AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(step)
    return result


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class DeviceProcess:
    def __init__(self, proc: subprocess.Popen, port: int, state_dir: Path, log_path: Path) -> None:
        self.proc = proc
        self.port = port
        self.state_dir = state_dir
        self.log_path = log_path
        self.host = "127.0.0.1"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def start_device(tmp: Path, *extra: str, config: Path | None = SEED_PEER1, users=("admin:admin123",)) -> DeviceProcess:
    """Start ``netconf-device serve`` on a free port; returns once it printed where it listens."""
    state = tmp / "state"
    log_path = tmp / "device.log"
    args = [sys.executable, "-m", "netconf_device", "serve", "--port", "0", "--state-dir", str(state)]
    for user in users:
        args += ["--user", user]
    if config is not None:
        args += ["--config", str(config)]
    args += list(extra)
    log_file = open(log_path, "wb")  # noqa: SIM115 (kept open for the process' lifetime)
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=log_file, env={**os.environ,
                            "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 20
    line = b""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        match = re.search(rb"listening on ([\d.]+):(\d+)", line)
        if match:
            return DeviceProcess(proc, int(match.group(2)), state, log_path)
    proc.kill()
    raise RuntimeError(f"device did not start: {line!r}\n{log_path.read_text(errors='replace')}")


class RawNetconf:
    """A minimal NETCONF client over asyncssh that sends exactly the bytes a test wants."""

    def __init__(self, conn: asyncssh.SSHClientConnection, writer, reader) -> None:
        self.conn = conn
        self.writer = writer
        self.reader = reader
        self.hello = b""

    @classmethod
    async def open(cls, port: int, user: str = "admin", password: str = "admin123", hello: bool = True):
        conn = await asyncssh.connect("127.0.0.1", port, username=user, password=password, known_hosts=None,
                                      client_keys=None, preferred_auth="password")
        writer, reader, _ = await conn.open_session(subsystem="netconf", encoding=None)
        self = cls(conn, writer, reader)
        self.hello = await self.read_eom()
        if hello:
            writer.write(CLIENT_HELLO_10)
        return self

    async def read_eom(self, timeout: float = 10) -> bytes:
        data = await asyncio.wait_for(self.reader.readuntil(EOM), timeout)
        return data[: -len(EOM)]

    async def rpc(self, body: str | bytes, message_id: str = "1") -> bytes:
        if isinstance(body, str):
            body = body.encode()
        self.writer.write(b'<rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="%s">%s</rpc>%s'
                          % (message_id.encode(), body, EOM))
        return await self.read_eom()

    def close(self) -> None:
        self.conn.close()
