"""`netconf-device serve`: prints where it listens, keeps its identity in the state dir, stops cleanly."""

from __future__ import annotations

import asyncio
import signal

import asyncssh
import pytest
from ndnc_support import CH, NC, RawNetconf, start_device


async def _host_key(port: int) -> str:
    conn = await asyncssh.connect("127.0.0.1", port, username="admin", password="admin123", known_hosts=None,
                                  client_keys=None, preferred_auth="password")
    key = conn.get_server_host_key().export_public_key().decode()
    conn.close()
    return key


async def _serial(port: int) -> str:
    from lxml import etree

    client = await RawNetconf.open(port)
    reply = etree.fromstring(await client.rpc("<get-chassis-inventory/>"))
    client.close()
    return reply.findtext(f"{CH}chassis-inventory/{CH}chassis/{CH}serial-number")


def test_serve_keeps_host_key_and_serial_and_stops_on_signals(tmp_path):
    first = start_device(tmp_path, config=None)
    try:
        key1 = asyncio.run(_host_key(first.port))
        serial1 = asyncio.run(_serial(first.port))
    finally:
        first.proc.send_signal(signal.SIGTERM)
        assert first.proc.wait(10) == 0
    assert (tmp_path / "state" / "ssh_host_ed25519_key").stat().st_mode & 0o077 == 0
    second = start_device(tmp_path, config=None)
    try:
        assert asyncio.run(_host_key(second.port)) == key1
        assert asyncio.run(_serial(second.port)) == serial1
    finally:
        second.proc.send_signal(signal.SIGINT)
        assert second.proc.wait(10) == 0
    assert b"stopped" in second.proc.stdout.read()


def test_initial_config_is_committed_once(tmp_path):
    dev = start_device(tmp_path)
    try:
        async def go():
            client = await RawNetconf.open(dev.port, user="lab", password="lab123")  # user from the seed config
            reply = await client.rpc("<get-commit-information/>")
            client.close()
            return reply

        reply = asyncio.run(go())
        assert reply.count(b"<commit-history>") == 1 and b"<user>root</user>" in reply
    finally:
        dev.stop()
    again = start_device(tmp_path)  # state dir not empty: --config is ignored, nothing new committed
    try:
        async def go2():
            client = await RawNetconf.open(again.port)
            reply = await client.rpc("<get-commit-information/>")
            client.close()
            return reply

        assert asyncio.run(go2()).count(b"<commit-history>") == 1
    finally:
        again.stop()


async def _rpcs(port: int, *bodies: str) -> list:
    from lxml import etree

    client = await RawNetconf.open(port)
    out = [etree.fromstring(await client.rpc(body, str(i))) for i, body in enumerate(bodies)]
    client.close()
    return out


def _host_name(port: int) -> str:
    (reply,) = asyncio.run(_rpcs(port, "<get-configuration database=\"committed\"><configuration><system>"
                                       "<host-name/></system></configuration></get-configuration>"))
    return reply.findtext(f"{NC}configuration/{NC}system/{NC}host-name")


def _commit_confirmed(port: int, host: str, seconds: int) -> float:
    import time

    edit, commit = asyncio.run(_rpcs(
        port,
        f"<edit-config><target><candidate/></target><config><configuration><system><host-name>{host}</host-name>"
        "</system></configuration></config></edit-config>",
        f"<commit><confirmed/><confirm-timeout>{seconds}</confirm-timeout><persist>restart-token</persist></commit>"))
    assert edit.find(NC + "ok") is not None and commit.find(NC + "ok") is not None
    return time.monotonic() + seconds


@pytest.mark.slow
def test_unconfirmed_commit_rolls_back_across_a_restart(tmp_path):
    import time

    dev = start_device(tmp_path)
    try:  # pending when the device stops: the restarted device's own timer rolls it back
        deadline = _commit_confirmed(dev.port, "tentative", 4)
    finally:
        assert dev.stop() == 0
    dev = start_device(tmp_path)
    try:
        assert time.monotonic() < deadline and _host_name(dev.port) == "tentative"
        while time.monotonic() < deadline + 3 and _host_name(dev.port) != "peer1":
            time.sleep(0.2)
        assert _host_name(dev.port) == "peer1"
        deadline = _commit_confirmed(dev.port, "expires-while-down", 1)
    finally:
        assert dev.stop() == 0
    time.sleep(max(0.0, deadline - time.monotonic()) + 0.2)
    dev = start_device(tmp_path)  # expired while down: rolled back before anything runs it
    try:
        assert _host_name(dev.port) == "peer1"
        (history,) = asyncio.run(_rpcs(dev.port, "<get-commit-information/>"))
        entries = history.findall(f"{NC}commit-information/{NC}commit-history")
        assert [e.findtext(NC + "comment") for e in entries[:4]] == [
            "rollback of commit confirmed (not confirmed)", "commit confirmed, rollback in 1mins",
            "rollback of commit confirmed (not confirmed)", "commit confirmed, rollback in 1mins"]
        assert entries[0].findtext(NC + "user") == "root" and entries[0].findtext(NC + "client") == "other"
    finally:
        dev.stop()


def test_hostname_and_model_options(tmp_path):
    dev = start_device(tmp_path, "--hostname", "edge9", "--model", "MX480", config=None)
    try:
        version, inventory = asyncio.run(_rpcs(dev.port, "<get-software-information/>", "<get-chassis-inventory/>"))
    finally:
        assert dev.stop() == 0
    assert version.findtext(f"{NC}software-information/{NC}host-name") == "edge9"
    assert version.findtext(f"{NC}software-information/{NC}product-model") == "mx480"
    assert inventory.findtext(f"{CH}chassis-inventory/{CH}chassis/{CH}description") == "MX480"


@pytest.mark.slow
def test_busy_port_busy_state_dir_and_bad_config_are_one_clear_line(tmp_path):
    import subprocess
    import sys

    from ndnc_support import REPO

    bad = tmp_path / "bad.set"
    bad.write_text("set security ipsec vpn v bind-interface st0.3\n")
    (tmp_path / "first").mkdir()
    dev = start_device(tmp_path / "first")
    try:
        cases = {
            "busy port": ["--port", str(dev.port), "--state-dir", str(tmp_path / "other")],
            "busy state": ["--port", "0", "--state-dir", str(dev.state_dir)],
            "bad config": ["--port", "0", "--state-dir", str(tmp_path / "third"), "--config", str(bad)],
        }
        for name, args in cases.items():
            proc = subprocess.run([sys.executable, "-m", "netconf_device", "serve", "--no-engines", *args], cwd=REPO,
                                  capture_output=True, text=True, timeout=60)
            assert proc.returncode == 1, name
            assert "Traceback" not in proc.stderr and proc.stderr.startswith("netconf-device serve: "), proc.stderr
        assert dev.proc.poll() is None
    finally:
        dev.stop()
