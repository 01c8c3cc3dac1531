"""`request system reboot | halt` (PyEZ `SW(dev).reboot()` / `halt()`): answered as an MX answers, then the device
really goes down -- sessions end, the IKE daemon and the PFE lose every SA -- and a reboot comes back from the
running configuration with new tunnels."""

from __future__ import annotations

import asyncio
import time

import asyncssh
import pytest
from jnpr.junos import Device as PyezDevice
from jnpr.junos.utils.sw import SW
from lxml import etree
from ndnc_support import NC, REPO, RawNetconf, listening, start_device, wait_for

from netconf_device.lab.ports import free_udp_ports
from netconf_device.show.junos_version import JUNOS_NS

PEERS = REPO / "labs" / "mx304-p2p"


def run(coro):
    return asyncio.run(coro)


def _status(reply: etree._Element) -> etree._Element:
    return reply.find(f"{NC}request-reboot-results/{NC}request-reboot-status")


# ------------------------------------------------------------------------------------------- arguments
def test_delayed_reboot_dates_and_halt(tmp_path):
    dev = start_device(tmp_path)
    try:
        async def go():
            client = await RawNetconf.open(dev.port)
            await client.rpc('<load-configuration action="set" format="text"><configuration-set>'
                             "set interfaces lo0 description pending</configuration-set></load-configuration>")
            before = time.time()
            later = etree.fromstring(await client.rpc("<request-reboot><in>5</in></request-reboot>"))
            at_date = etree.fromstring(await client.rpc("<request-reboot><at>2612011000</at></request-reboot>"))
            bad = etree.fromstring(await client.rpc("<request-reboot><in>soon</in></request-reboot>"))
            other = etree.fromstring(await client.rpc("<request-reboot><other-routing-engine/></request-reboot>"))
            text = etree.fromstring(await client.rpc(
                '<command format="text">request system reboot at +5 | display xml rpc</command>'))
            alive = etree.fromstring(await client.rpc("<get-software-information/>"))
            client.close()
            return before, later, at_date, bad, other, text, alive

        before, later, at_date, bad, other, rpc_form, alive = run(go())
        status = _status(later)
        assert status.text.startswith("Shutdown at ") and "[pid " in status.text
        assert 5 * 60 - 5 <= int(status.get("reboot-time")) - before <= 5 * 60 + 5
        assert alive.find(f"{NC}software-information") is not None  # `in 5`: still up
        warning = later.find(f"{NC}rpc-error")  # before the results, as Junos sends it
        assert warning.findtext(NC + "error-severity") == "warning" and later.index(warning) == 0
        assert warning.findtext(NC + "error-message") == "The configuration has been changed but not committed"
        error = at_date.find(f"{NC}rpc-error")
        assert error.findtext(NC + "error-tag") == "operation-not-supported"
        assert "use 'in MINUTES'" in error.findtext(NC + "error-message")
        assert bad.find(f"{NC}rpc-error/{NC}error-tag").text == "invalid-value"
        assert other.find(f"{NC}rpc-error/{NC}error-info/{NC}bad-element").text == "other-routing-engine"
        request = rpc_form.find(f"{NC}rpc/{NC}request-reboot")
        assert request is not None and request.findtext(NC + "at") == "+5"

        # halt: the answer, then the device stops serving for good (the process waits to be stopped)
        with PyezDevice(host="127.0.0.1", port=dev.port, user="admin", passwd="admin123",
                        gather_facts=False) as pyez:
            assert SW(pyez).halt().startswith("Shutdown NOW!")
        wait_for("the device to stop listening", lambda: not listening(dev.port))
        with pytest.raises((OSError, asyncssh.Error)):
            run(RawNetconf.open(dev.port))
        assert dev.proc.poll() is None
        assert "system halt requested by admin" in dev.log_text()
    finally:
        assert dev.stop() == 0


# ------------------------------------------------------------------------------------------- a real reboot
def _sas(dev) -> dict[str, str]:
    """{"<" or ">": SPI} of tunnel 500001 (empty while it is not up)."""
    async def go():
        client = await RawNetconf.open(dev.port)
        reply = etree.fromstring(await client.rpc("<get-security-associations-information/>"))
        client.close()
        return {sa.findtext(NC + "sa-direction"): sa.findtext(NC + "sa-spi")
                for sa in reply.iter(NC + "ipsec-security-associations")
                if sa.findtext(NC + "sa-tunnel-index") == "500001"}

    try:
        return run(go())
    except (TimeoutError, OSError, asyncssh.Error, asyncio.IncompleteReadError):
        return {}


def _paired(one: dict[str, str], two: dict[str, str]) -> bool:
    return bool(one) and len(one) == 2 and one.get("<") == two.get(">") and one.get(">") == two.get("<")


def _booted(dev) -> int:
    async def go():
        client = await RawNetconf.open(dev.port)
        reply = etree.fromstring(await client.rpc("<get-system-uptime-information/>"))
        client.close()
        return int(reply.find(f".//{NC}system-booted-time/{NC}date-time").get(f"{{{JUNOS_NS}}}seconds"))

    return run(go())


@pytest.mark.slow
def test_pyez_reboot_ends_sessions_and_brings_the_tunnel_back_with_new_sas(tmp_path):
    a, b = free_udp_ports(2)
    for side in ("p1", "p2"):
        (tmp_path / side).mkdir()
    peer1 = start_device(tmp_path / "p1", "--wire", f"et-0/2/10=udp:127.0.0.1:{a}:127.0.0.1:{b}",
                         config=PEERS / "peer1.set")
    peer2 = start_device(tmp_path / "p2", "--wire", f"et-0/2/10=udp:127.0.0.1:{b}:127.0.0.1:{a}",
                         config=PEERS / "peer2.set")
    try:
        old = wait_for("the tunnel", lambda: (lambda s1, s2: _paired(s1, s2) and s1)(_sas(peer1), _sas(peer2)))
        booted = _booted(peer1)
        pyez = PyezDevice(host="127.0.0.1", port=peer1.port, user="admin", passwd="admin123")
        pyez.open()
        assert pyez.facts["personality"] == "MX"
        status = SW(pyez).reboot()
        assert status.startswith("Shutdown NOW!")
        # the session ends: the device closes it
        wait_for("the session to end", lambda: not pyez.connected or not _alive(pyez))
        wait_for("the device to listen again", lambda: listening(peer1.port) and _booted_or_none(peer1))
        assert _booted(peer1) > booted  # a new boot: uptime starts again
        new = wait_for("the tunnel after the reboot",
                        lambda: (lambda s1, s2: _paired(s1, s2) and s1)(_sas(peer1), _sas(peer2)))
        assert set(new.values()).isdisjoint(old.values())  # negotiated anew: no SA survived
        # the peer dropped the SAs of peer1's previous life (INITIAL_CONTACT), it did not just add new ones
        assert _sas(peer2) == {"<": new[">"], ">": new["<"]}
        log = peer1.log_text()
        assert "system reboot requested by admin" in log and "rebooted: listening again" in log
    finally:
        assert peer1.stop() == 0
        assert peer2.stop() == 0


def _alive(pyez) -> bool:
    try:
        pyez.rpc.get_software_information()
        return True
    except Exception:  # noqa: BLE001 - any failure means the session is gone
        return False


def _booted_or_none(dev) -> int | None:
    try:
        return _booted(dev)
    except (TimeoutError, OSError, asyncssh.Error, asyncio.IncompleteReadError):
        return None
