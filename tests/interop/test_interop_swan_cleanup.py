"""The harness cleans up after itself: namespaces, charon processes, TUN devices, even after errors."""

from __future__ import annotations

import gc
import os
import subprocess
import time

import pytest
from swan_fixtures import pair_connections, swan_pair, swan_prefix

from netconf_device.interop import netns
from netconf_device.interop.strongswan import Charon, StrongswanError

pytestmark = [pytest.mark.root]


def _gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.strongswan
def test_interop_pair_cleanup_after_error(swan_workdir):
    prefix = swan_prefix("cln")
    pids = []
    with pytest.raises(RuntimeError, match="boom"):
        with swan_pair("cln", swan_workdir, *pair_connections()) as pair:
            pair.left.initiate()
            pids = [pair.left.pid, pair.right.pid]
            assert netns.list_namespaces(prefix) == [f"{prefix}-l", f"{prefix}-r"]
            assert "ipsec0" in pair.topo.left.links()
            raise RuntimeError("boom")
    assert netns.list_namespaces(prefix) == []
    assert pids and all(_gone(p) for p in pids)
    assert not any(os.path.exists(f"/proc/{p}") and open(f"/proc/{p}/comm").read().startswith("charon")
                   for p in pids)


@pytest.mark.strongswan
def test_interop_forgotten_charon_is_killed_by_finalizer(swan_workdir):
    with netns.Netns.create(swan_prefix("fin")) as ns:
        charon = Charon(swan_workdir, "forgotten", netns=ns.name).start()
        pid = charon.pid
        del charon
        gc.collect()
        assert _gone(pid)


def test_interop_netns_delete_is_idempotent_and_kills_leftovers():
    name = swan_prefix("del") + "-x"
    ns = netns.Netns.create(name)
    sleeper = ns.popen(["sleep", "60"])
    try:
        # `ip netns exec` enters the namespace, then execs: wait until it has
        deadline = time.monotonic() + 5
        while sleeper.pid not in ns.pids() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sleeper.pid in ns.pids()
        ns.close()
        ns.close()  # twice is fine
        netns.delete(name)  # and so is deleting what is gone
        assert not netns.exists(name)
        assert sleeper.wait(5) is not None
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
        netns.delete(name)


def test_interop_netns_helpers(swan_workdir):
    """veth with addresses, routes, sockets and TUN devices inside a namespace."""
    prefix = swan_prefix("hlp")
    with netns.NetnsPair(prefix, left_inner=["1.1.1.1/32"], right_inner=["2.2.2.2/32"]) as topo:
        assert "1.1.1.1/32" in topo.left.addresses("lo") and "10.200.0.2/24" in topo.right.addresses()
        topo.left.add_route("2.2.2.2/32", via=topo.right_ip)
        topo.right.add_route("1.1.1.1/32", via=topo.left_ip)
        assert topo.left.run(["ping", "-c1", "-W2", "-I", "1.1.1.1", "2.2.2.2"], check=False).returncode == 0
        # sockets created in a namespace live there
        rx = topo.right.socket()
        rx.bind((topo.right_ip, 0))
        tx = topo.left.socket()
        tx.sendto(b"hello", (topo.right_ip, rx.getsockname()[1]))
        rx.settimeout(2)
        assert rx.recvfrom(100) == (b"hello", (topo.left_ip, tx.getsockname()[1]))
        tx.close()
        rx.close()
        # a TUN device opened inside the namespace: packets routed to it arrive on the fd
        fd = topo.left.open_tun(f"{prefix}-t")
        try:
            topo.left.ip("addr", "add", "192.0.2.1/24", "dev", f"{prefix}-t")
            topo.left.set_up(f"{prefix}-t")
            subprocess.run(["ip", "netns", "exec", topo.left.name, "ping", "-c1", "-W1", "192.0.2.9"],
                           capture_output=True, check=False)
            os.set_blocking(fd, False)
            packets = []
            while True:  # besides the echo request the kernel may have sent IPv6 router solicitations
                try:
                    packets.append(os.read(fd, 2048))
                except BlockingIOError:
                    break
            assert any(p[0] >> 4 == 4 and p[9] == 1 and p[16:20] == bytes([192, 0, 2, 9]) for p in packets)
        finally:
            os.close(fd)
        assert f"{prefix}-t" not in topo.left.links()
    assert netns.list_namespaces(prefix) == []
    with pytest.raises(netns.NetnsError, match="does not exist"):
        netns.call_in_netns(f"{prefix}-l", lambda: None)


@pytest.mark.strongswan
def test_interop_detached_charon_outlives_its_process_and_is_adopted(swan_workdir):
    """`lab up` starts charon and exits; `lab down` (another process) finds it again and stops it."""
    import sys
    import textwrap

    from swan_fixtures import REPO_ROOT

    with netns.Netns.create(swan_prefix("adp")) as ns:
        script = textwrap.dedent(f"""
            from netconf_device.interop.strongswan import Charon
            c = Charon({str(swan_workdir)!r}, "kept", netns={ns.name!r}).start()
            print(c.detach())
        """)
        out = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True,
                             timeout=60, check=True)
        pid = int(out.stdout.strip())
        assert not _gone(pid, timeout=0.5), "charon died with the process that detached it"
        with pytest.raises(StrongswanError, match="already runs"):
            Charon(swan_workdir, "kept", netns=ns.name).start()
        adopted = Charon.adopt(swan_workdir, "kept", netns=ns.name)
        assert adopted.pid == pid and adopted.running
        assert adopted.list_sas() == [] and adopted.stats()["ikesas"]["total"] == "0"
        adopted.stop()
        assert _gone(pid) and not adopted.running
        with pytest.raises(StrongswanError, match="no running instance"):
            Charon.adopt(swan_workdir, "kept", netns=ns.name)
