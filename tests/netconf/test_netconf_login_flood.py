"""Unauthenticated connections: OpenSSH's MaxStartups (start:rate:full, per source) and idle ones closed to make
room, so that a flood of idle TCP connections cannot keep a real client from logging in."""

from __future__ import annotations

import socket
import subprocess
import sys

import ncclient.transport.session
import pytest
from lxml import etree
from ncclient import manager
from ndnc_support import NC, REPO, RawNetconf, start_device

from netconf_device.netconf.startups import MaxStartups, StartupGate

ncclient.transport.session.TICK = 0.001


# ------------------------------------------------------------------------------------------- the gate
def test_max_startups_parses_like_openssh_and_refuses_nonsense():
    assert MaxStartups.parse("10:30:100") == MaxStartups(10, 30, 100)
    assert MaxStartups.parse("50") == MaxStartups(50, 100, 50)
    for bad in ("", "10:30", "a:b:c", "20:30:10", "10:130:100", "0"):
        with pytest.raises(ValueError):
            MaxStartups.parse(bad)
    with pytest.raises(ValueError):
        StartupGate(per_source=0)


def test_random_early_drop_between_start_and_full():
    limits = MaxStartups(10, 30, 20)
    assert limits.drop_probability(9) == 0.0
    assert limits.drop_probability(10) == pytest.approx(0.30)
    assert limits.drop_probability(15) == pytest.approx(0.65)
    assert limits.drop_probability(20) == 1.0
    draw = [0.5]
    gate = StartupGate(limits, per_source=100, random=lambda: draw[0])
    for n in range(10):
        assert gate.admit(("busy", n), f"10.0.0.{n}", now=0.0) == (True, [])
    # at 10 pending the chance is 30 %: a draw of 0.5 passes, 0.1 is refused
    assert gate.admit("a", "10.0.1.1", now=0.0) == (True, [])
    draw[0] = 0.1
    assert gate.admit("b", "10.0.1.2", now=0.0) == (False, [])
    assert gate.counters.refused_early == 1
    draw[0] = 0.999
    for n in range(9):
        assert gate.admit(("more", n), "10.0.2.1", now=0.5)[0]
    assert gate.pending == 20  # nobody idle yet: at full everything new is refused, whatever the draw
    assert gate.admit("late", "10.0.3.1", now=0.9) == (False, []) and gate.counters.refused_early == 2


def test_an_idle_connection_makes_room_the_busiest_source_first():
    draw = [0.999]
    gate = StartupGate(MaxStartups(4, 30, 6), per_source=10, grace=1.0, random=lambda: draw[0])
    for n in range(3):
        gate.admit(("flood", n), "192.0.2.9", now=float(n) / 10)
    gate.admit("other", "198.51.100.7", now=0.0)  # idle longest, but its source holds only one
    gate.admit("working", "198.51.100.8", now=0.0)
    gate.progress("working", now=0.95)
    assert gate.pending == 5
    draw[0] = 0.0
    assert gate.admit("soon", "203.0.113.1", now=0.5) == (False, [])  # nobody idle for 1 s yet: random drop
    admitted, closed = gate.admit("login", "203.0.113.1", now=1.5)
    assert admitted and closed == [("flood", 0)]  # the oldest idle one of the source with the most
    assert gate.pending_from("192.0.2.9") == 2 and gate.counters.evicted == 1
    assert gate.admit("login2", "203.0.113.2", now=1.6) == (True, [("flood", 1)])
    # one each now: the one idle longest goes first
    assert gate.admit("login3", "203.0.113.3", now=1.7) == (True, ["other"])
    assert gate.admit("login4", "203.0.113.4", now=1.8) == (True, [("flood", 2)])
    # "working" made progress at 0.95, the logins are new: nobody is idle, the random drop decides
    assert gate.admit("login5", "203.0.113.5", now=1.8) == (False, [])


def test_per_source_bound_refuses_or_recycles_that_source_only():
    gate = StartupGate(MaxStartups(100, 30, 200), per_source=2, grace=1.0)
    assert gate.admit("a", "192.0.2.1", now=0.0)[0] and gate.admit("b", "192.0.2.1", now=0.0)[0]
    assert gate.admit("c", "192.0.2.1", now=0.5) == (False, [])
    assert gate.counters.refused_per_source == 1
    assert gate.admit("x", "192.0.2.2", now=0.5) == (True, [])  # another source is not affected
    assert gate.admit("d", "192.0.2.1", now=1.2) == (True, ["a"])  # its own idle one makes room
    gate.leave("b")
    gate.leave("b")  # idempotent
    assert gate.pending_from("192.0.2.1") == 1 and gate.pending == 2


# ------------------------------------------------------------------------------------------- a device
def _flood(port: int, sources: list[str], per_source: int) -> list[socket.socket]:
    """Idle TCP connections: they connect and never speak (a few send only the SSH banner)."""
    out = []
    for source in sources:
        for n in range(per_source):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((source, 0))
            s.connect(("127.0.0.1", port))
            if n % 10 == 0:
                s.sendall(b"SSH-2.0-half-open\r\n")
            out.append(s)
    return out


def _closed_by_the_device(s: socket.socket) -> bool:
    s.setblocking(False)
    try:
        while True:
            data = s.recv(65536)  # the device's banner first, then the end if it closed the connection
            if not data:
                return True
    except (BlockingIOError, ConnectionResetError) as exc:
        return isinstance(exc, ConnectionResetError)


@pytest.mark.slow
def test_a_flood_of_idle_connections_cannot_stop_an_ncclient_login(tmp_path):
    """200 idle connections -- more than the 144 that used to stop every login for the 30 s login timeout --
    from the client's own address and from four others; an established session keeps working throughout."""
    dev = start_device(tmp_path)  # default limits: max-startups 128:30:256, 128 per source, 128 sessions
    flood: list[socket.socket] = []
    try:
        import asyncio

        async def open_session():
            return await RawNetconf.open(dev.port)

        loop = asyncio.new_event_loop()
        established = loop.run_until_complete(open_session())
        flood = _flood(dev.port, ["127.0.0.1"], 120) + _flood(dev.port, [f"127.0.0.{n}" for n in range(2, 6)], 20)
        # the newest are younger than the 1 s grace; wait until they all count as idle, then log in
        loop.run_until_complete(asyncio.sleep(1.2))
        with manager.connect(host="127.0.0.1", port=dev.port, username="admin", password="admin123",
                             hostkey_verify=False, look_for_keys=False, allow_agent=False,
                             device_params={"name": "junos"}, timeout=20) as m:
            reply = m.rpc(etree.fromstring("<get-software-information/>"))
            assert reply.xpath("//host-name")[0].text == "peer1"
        reply = etree.fromstring(loop.run_until_complete(established.rpc("<get-software-information/>")))
        assert reply.find(f"{NC}software-information") is not None
        established.close()
        loop.close()
        closed = [s for s in flood if _closed_by_the_device(s)]
        assert closed, "the device made room by closing idle connections"
        log = dev.log_text()
        assert "closing idle unauthenticated connection" in log
    finally:
        for s in flood:
            s.close()
        assert dev.stop() == 0


def test_serve_refuses_a_malformed_max_startups(tmp_path):
    for args in (["--max-startups", "10:30"], ["--max-startups", "20:30:10"], ["--per-source-max-startups", "0"]):
        done = subprocess.run([sys.executable, "-m", "netconf_device", "serve", "--port", "0", "--state-dir",
                               str(tmp_path / "state"), "--no-engines", *args], cwd=REPO, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 2, (args, done.stderr)
        assert "max-startups" in done.stderr and "Traceback" not in done.stderr
