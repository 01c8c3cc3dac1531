"""The seed's example as a lab, end to end: `lab up`, `lab status`, `lab ping`, `lab down` (the README's main
job) with emulated hosts, unprivileged; crashes, failures, and two labs at once."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from netconf_device.lab import Lab, LabError, TunnelsNotUp, query
from netconf_device.lab import ports as port_registry
from netconf_device.lab.processes import process_alive

REPO = Path(__file__).resolve().parents[2]
SEED_LAB = REPO / "labs" / "mx304-p2p"

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def private_port_registry(tmp_path, monkeypatch):
    """Reservations of these tests go to a registry of their own (inherited by the CLI subprocesses)."""
    monkeypatch.setenv("NETCONF_DEVICE_LAB_REGISTRY", str(tmp_path / "port-registry"))


def cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "netconf_device", "lab", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def esp_counters(lab: Lab) -> dict[str, tuple[int, int]]:
    out = {}
    for name in ("peer1", "peer2"):
        stats = lab.device(name).ipsec_statistics()
        out[name] = (stats["esp-encrypted-packets"], stats["esp-decrypted-packets"])
    return out


def test_lab_mx304_p2p_cli_up_status_ping_down(tmp_path):
    up = cli("up", str(SEED_LAB), "--timeout", "90", cwd=tmp_path)
    assert up.returncode == 0, up.stdout + up.stderr
    assert "lab mx304-p2p is up: all tunnels up after" in up.stdout and "(peer1 1/1, peer2 1/1)" in up.stdout
    logins = dict(re.findall(r"^\s+(peer[12])\s+127\.0\.0\.1:(\d+)\s+lab / lab123\s", up.stdout, re.M))
    assert set(logins) == {"peer1", "peer2"}, up.stdout
    state_dir = tmp_path / ".lab-state" / "mx304-p2p"
    lab = Lab.attach(state_dir)
    pids = [lab.device(n).pid for n in ("peer1", "peer2")]
    try:
        # the printed address and login work for a NETCONF client, and the tunnel is up on both sides
        for name, port in logins.items():
            with query.connect("127.0.0.1", int(port), "lab", "lab123") as conn:
                ike = query.rpc(conn, "<get-ike-security-associations-information/>")
                # both peers initiate (establish-tunnels immediately): a duplicate IKE SA may exist briefly
                states = [query.text_of(sa, "ike-sa-state") for sa in query.children(ike, "ike-security-associations")]
                assert "UP" in states, (name, states)
        status = cli("status", cwd=tmp_path)
        assert status.returncode == 0, status.stdout + status.stderr
        for name in ("peer1", "peer2"):
            row = next(line for line in status.stdout.splitlines() if line.strip().startswith(name))
            assert "(running)" in row and re.search(r"\s1/1\s+[12]/[12]$", row), row
        assert re.search(r"host1\s+1\.1\.1\.2/24\s+peer1:et-0/1/8 via 1\.1\.1\.1\s+emulated, UDP 127\.0\.0\.1:\d+",
                         status.stdout), status.stdout

        before = esp_counters(lab)
        ping = cli("ping", "host1", "2.2.2.2", "-c", "4", "-i", "0.05", cwd=tmp_path)
        assert ping.returncode == 0, ping.stdout + ping.stderr
        assert "4 packets transmitted, 4 received, 0% packet loss" in ping.stdout
        assert len(re.findall(r"^64 bytes from 2\.2\.2\.2: icmp_seq=\d time=[\d.]+ ms$", ping.stdout, re.M)) == 4
        after = esp_counters(lab)
        # four requests encrypted by peer1 and decrypted by peer2, four replies the other way
        assert after["peer1"] == (before["peer1"][0] + 4, before["peer1"][1] + 4), (before, after)
        assert after["peer2"] == (before["peer2"][0] + 4, before["peer2"][1] + 4), (before, after)

        lost = cli("ping", "host1", "2.2.2.9", "-c", "1", "-W", "0.3", cwd=tmp_path)
        assert lost.returncode == 1 and "1 packets transmitted, 0 received, 100% packet loss" in lost.stdout

        # while a test holds the emulated hosts, `lab ping` says so instead of stealing them
        lab.hosts_runner()
        busy = cli("ping", "host1", "2.2.2.2", "-c", "1", cwd=tmp_path)
        assert busy.returncode == 1 and "is in use (another `lab ping` or a test" in busy.stderr, busy.stderr
        lab.release_hosts()
        twice = cli("up", str(SEED_LAB), cwd=tmp_path)
        assert twice.returncode == 1 and "lab mx304-p2p is already up" in twice.stderr, twice.stderr
    finally:
        down = cli("down", cwd=tmp_path)
    assert down.returncode == 0, down.stdout + down.stderr
    assert "stopped device peer1" in down.stdout and "stopped device peer2" in down.stdout
    assert not any(process_alive(pid) for pid in pids)
    assert not (state_dir / "lab.json").exists() and (state_dir / "devices" / "peer1" / "device.log").exists()
    assert port_registry.reserved_by(str(state_dir)) == []
    again = cli("down", cwd=tmp_path)
    assert again.returncode == 0 and "no lab is up here" in again.stdout
    gone = cli("status", "mx304-p2p", cwd=tmp_path)
    assert gone.returncode == 3 and "lab mx304-p2p is not up" in gone.stderr
    nothing = cli("status", cwd=tmp_path)
    assert nothing.returncode == 3 and "no lab is up here" in nothing.stderr


def test_lab_hints_of_lab_up_work_with_a_state_dir(tmp_path):
    """`lab up --state-dir DIR` prints commands that find that lab again (run here as printed)."""
    state_dir = tmp_path / "elsewhere"
    up = cli("up", str(SEED_LAB), "--state-dir", str(state_dir), cwd=tmp_path)
    hints = dict(re.findall(r"^(Try|Stop): netconf-device lab (.*)$", up.stdout, re.M))
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert hints["Try"] == f"ping host1 2.2.2.2 --state-dir {state_dir}", up.stdout
        ping = cli(*hints["Try"].split(), "-c", "1", cwd=tmp_path)
        assert ping.returncode == 0 and "1 received" in ping.stdout, ping.stdout + ping.stderr
        assert hints["Stop"] == f"down mx304-p2p --state-dir {state_dir}", up.stdout
        down = cli(*hints["Stop"].split(), cwd=tmp_path)
        assert down.returncode == 0 and "lab mx304-p2p is down" in down.stdout, down.stdout + down.stderr
    finally:
        cli("down", "--state-dir", str(state_dir), cwd=tmp_path)  # harmless when already down


def test_lab_down_after_killed_device_and_launcher(tmp_path):
    state_dir = tmp_path / "state"
    lab = Lab.load(SEED_LAB, state_dir=state_dir)
    lab.up(wait=False)
    try:
        peer1, peer2 = lab.device("peer1"), lab.device("peer2")
        os.kill(peer1.pid, signal.SIGKILL)  # a device crashes ...
        deadline = time.monotonic() + 5
        while peer1.alive and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not peer1.alive and peer2.alive
        del lab  # ... and so does the process that started the lab: only the state directory is left
        status = Lab.attach(state_dir).status(tunnels=False)
        assert [(d.name, d.alive) for d in status.devices] == [("peer1", False), ("peer2", True)]
        done = Lab.attach(state_dir).down()
        assert done == [f"stopped device peer2 (pid {peer2.pid})"]
        assert not process_alive(peer2.pid)
        assert port_registry.reserved_by(str(state_dir.resolve())) == []
        with pytest.raises(LabError, match="no lab is up"):
            Lab.attach(state_dir)
        assert Lab.load(SEED_LAB, state_dir=state_dir).down() == []  # idempotent
    finally:
        Lab.load(SEED_LAB, state_dir=state_dir).down()


def test_lab_up_again_over_a_crashed_lab(tmp_path):
    """Every device died and nobody ran `lab down`: `lab up` cleans the leftovers and starts afresh."""
    state_dir = tmp_path / "state"
    first = Lab.load(SEED_LAB, state_dir=state_dir)
    first.up(wait=False)
    old = [first.device(n).pid for n in ("peer1", "peer2")]
    for pid in old:
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while any(process_alive(pid) for pid in old) and time.monotonic() < deadline:
        time.sleep(0.02)
    first._procs.clear()  # forget them as a crashed launcher would (the zombies are reaped below)
    lab = Lab.load(SEED_LAB, state_dir=state_dir)
    try:
        lab.up(wait=True, timeout=60)
        assert all(lab.device(n).pid not in old and lab.device(n).alive for n in ("peer1", "peer2"))
        assert lab.ping("host2", "1.1.1.2", count=2, interval=0.05).received == 2
    finally:
        lab.down()
        for pid in old:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def test_lab_two_labs_in_parallel(tmp_path):
    labs = [Lab.load(SEED_LAB, state_dir=tmp_path / f"lab{i}") for i in range(2)]
    errors: list[BaseException] = []

    def start(lab: Lab) -> None:
        try:
            lab.up(wait=True, timeout=90)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(lab,)) for lab in labs]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors
        used = []
        for lab in labs:
            state = lab._require_state()
            used += state["ports"] + [d["port"] for d in state["devices"].values()]
        assert len(used) == len(set(used)), used  # no port shared between the two labs
        for lab in labs:
            result = lab.ping("host1", "2.2.2.2", count=3, interval=0.05)
            assert (result.sent, result.received) == (3, 3)
            assert lab.status().all_tunnels_up
    finally:
        for lab in labs:
            lab.down()


def test_lab_up_says_which_tunnel_is_down_and_why(tmp_path):
    lab_dir = tmp_path / "psk-mismatch"
    shutil.copytree(SEED_LAB, lab_dir)
    peer2 = lab_dir / "peer2.set"
    peer2.write_text(peer2.read_text().replace("lab-secret-123", "not-the-same-key"))
    lab = Lab.load(lab_dir, state_dir=tmp_path / "state")
    try:
        with pytest.raises(TunnelsNotUp) as info:
            lab.up(wait=True, timeout=5)
        message = str(info.value)
        assert "not all tunnels are up after" in message
        assert "peer1: 0/1 tunnels up" in message and "peer2: 0/1 tunnels up" in message
        assert "ipsec_vpn (st0.1): no IKE SA with 16.1.1.2 (gateway ike_gw)" in message
        assert "AUTHENTICATION_FAILED" in message
        assert info.value.status["peer1"].down[0].name == "ipsec_vpn"
        assert lab.is_up  # the lab stays up for a look with `lab status`
    finally:
        lab.down()


def test_lab_up_fails_cleanly_when_a_device_cannot_start(tmp_path):
    lab_dir = tmp_path / "broken"
    shutil.copytree(SEED_LAB, lab_dir)
    (lab_dir / "peer2.set").write_text("set interfaces et-0/1/8 unit 0 family inet adress 2.2.2.1/24\n")
    lab = Lab.load(lab_dir, state_dir=tmp_path / "state")
    with pytest.raises(LabError) as info:
        lab.up(wait=True, timeout=30)
    message = str(info.value)
    assert "device peer2 exited during startup" in message and "syntax error: adress" in message, message
    assert not lab.is_up and not (tmp_path / "state" / "lab.json").exists()
    assert port_registry.reserved_by(str((tmp_path / "state").resolve())) == []
