"""Port reservations: labs started at the same moment never get the same port; stale ones are reused."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from netconf_device.lab import ports
from netconf_device.lab.state import port_still_owned, write_state

REPO = Path(__file__).resolve().parents[2]

ALLOCATE = """
import json, sys
from netconf_device.lab import ports
print(json.dumps(ports.allocate(sys.argv[1], 60, still_owned=lambda owner, port: True)))
"""


def test_lab_ports_parallel_allocations_never_collide(tmp_path, monkeypatch):
    env = {**os.environ, "NETCONF_DEVICE_LAB_REGISTRY": str(tmp_path / "registry"),
           "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", ALLOCATE, f"/labs/{i}"], stdout=subprocess.PIPE, env=env)
             for i in range(6)]
    results = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    everything = [port for result in results for port in result]
    assert all(len(result) == 60 for result in results)
    assert len(set(everything)) == len(everything)
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    assert all(port < low for port in everything)  # never in the ephemeral range
    monkeypatch.setenv("NETCONF_DEVICE_LAB_REGISTRY", str(tmp_path / "registry"))
    assert sorted(ports.reserved_by("/labs/3")) == sorted(results[3])
    ports.release("/labs/3")
    assert ports.reserved_by("/labs/3") == []
    assert sorted(ports.reserved_by("/labs/4")) == sorted(results[4])


def test_lab_ports_skip_ports_in_use_and_reuse_stale_reservations(tmp_path, monkeypatch):
    monkeypatch.setenv("NETCONF_DEVICE_LAB_REGISTRY", str(tmp_path / "registry"))
    live, gone = tmp_path / "live", tmp_path / "gone"
    first = ports.allocate(str(live), 5, still_owned=port_still_owned)
    write_state(live, {"ports": first, "devices": {}})
    stale = ports.allocate(str(gone), 5, still_owned=port_still_owned)  # its owner never records them
    assert not set(first) & set(stale)
    # the next allocation drops the stale reservations of `gone`, keeps those of `live`
    ports.allocate(str(tmp_path / "third"), 1, still_owned=port_still_owned)
    assert ports.reserved_by(str(gone)) == []
    assert sorted(ports.reserved_by(str(live))) == sorted(first)
    # a port some other program holds is never handed out
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", first[0]))
        assert not ports.port_is_free(first[0])
