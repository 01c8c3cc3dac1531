"""The device's own parts without processes: the bounded mailbox between the engines, and a device with
engines composed in this process (the Python API of docs/device.md)."""

from __future__ import annotations

import asyncio
import time

from device_testlib import PASSWORD, USER, Vpn, peer_config

from netconf_device.config.datastore import Datastore
from netconf_device.device import Device, DeviceOptions
from netconf_device.device_cli import load_initial_config
from netconf_device.lab.ports import free_udp_ports
from netconf_device.live.mailbox import DRAIN_BATCH, Mailbox
from netconf_device.live.wirespec import parse_wire
from netconf_device.netconf.passwords import sha512_crypt


def test_device_mailbox_is_bounded_counts_drops_and_yields_between_batches():
    async def go():
        delivered = []
        box = Mailbox("test", delivered.append, limit=DRAIN_BATCH + 10)
        box.bind(asyncio.get_running_loop())
        for i in range(DRAIN_BATCH + 20):
            box.put(i)
        assert box.dropped == 10 and len(box) == DRAIN_BATCH + 10
        await asyncio.sleep(0)  # one loop turn: one batch
        assert len(delivered) == DRAIN_BATCH
        await asyncio.sleep(0)
        assert delivered == list(range(DRAIN_BATCH + 10))

        def failing(item):
            raise RuntimeError("consumer bug")

        bad = Mailbox("bad", failing)
        bad.bind(asyncio.get_running_loop())
        bad.put(1)
        bad.put(2)
        await asyncio.sleep(0)
        assert bad.failed == 2 and len(bad) == 0  # a consumer bug loses the event, not the loop

    asyncio.run(go())


async def _device_with_engines(tmp_path, vpns: list[Vpn]) -> Device:
    """Peer 1 of the seed's pair composed in this process, with its WAN on a UDP wire and ``vpns`` committed
    (the initial configuration is a commit: through the one apply callback); NETCONF not started yet."""
    wan, far = free_udp_ports(2)
    options = DeviceOptions(state_dir=str(tmp_path), port=0, bootstrap_users={USER: sha512_crypt(PASSWORD)},
                            wires=(parse_wire(f"et-0/2/10=udp:127.0.0.1:{wan}:127.0.0.1:{far}"),))
    device = Device(options, datastore=Datastore(tmp_path), engines=True)
    await device.start_engines()
    device.start_configuration()
    config = tmp_path / "peer1.set"
    config.write_text(peer_config(1, vpns))
    load_initial_config(device.datastore, config)
    return device


def test_device_in_process_composition_applies_commits_to_both_engines(tmp_path):
    async def go():
        device = await _device_with_engines(tmp_path, [Vpn(1, establish="responder-only"),
                                                       Vpn(2, establish="on-traffic")])
        port = await device.start()
        engines = device.engines
        try:
            assert port > 0 and set(device.wires) == {"et-0/2/10"}
            assert engines.intent is device.datastore.running_intent
            assert set(engines.datapath.vpns) == {500001, 500002}
            assert set(engines.iked.engine.vpns) == {"vpn1", "vpn2"}
            assert str(engines.local_address_for("16.1.2.2")) == "16.1.2.1"
            # nobody initiates: responder-only and on-traffic without traffic
            await asyncio.sleep(0.2)
            assert engines.iked.ike_sa_snapshots() == [] and engines.runner.unrouted == 0
            # a rollback-like commit through the datastore reaches both engines too
            sid = 99
            device.datastore.open_session(sid, "root", client="other", now=time.time())
            device.datastore.load(sid, "delete security ipsec vpn vpn2", format="set", action="set", now=time.time())
            device.datastore.commit(sid, time.time())
            device.datastore.close_session(sid, time.time())
            assert set(engines.datapath.vpns) == {500001} and set(engines.iked.engine.vpns) == {"vpn1"}
            # `show interfaces terse` reads the PFE's counters once per request, not once per interface
            # (2000 st0 units took 9.5 s before, 0.1 s since)
            calls = []
            real = engines.datapath.interface_statistics
            engines.datapath.interface_statistics = lambda name=None: calls.append(name) or real(name)
            from lxml import etree

            from netconf_device.rpc import interfaces

            class Ctx:
                pass

            ctx = Ctx()
            ctx.device = device
            reply = interfaces.get_interface_information(ctx, etree.fromstring(
                "<get-interface-information><terse/></get-interface-information>"))
            # interface-information is in Junos' junos-interface namespace, as on a real MX
            assert len(reply.findall("{*}physical-interface")) > 50 and calls == [None]
            oper = {i.findtext("{*}name"): i.findtext("{*}oper-status") for i in reply.iter("{*}logical-interface")}
            assert oper["st0.1"] == "down" and oper["et-0/2/10.0"] == "up"
            # `show security ipsec statistics [index N]` reads the counters it prints, not every tunnel's
            from netconf_device.live import rpcs

            ctx.login_class = "super-user"
            engines.datapath.ipsec_statistics_by_tunnel = lambda: calls.append("every tunnel") or {}
            calls.clear()
            for request in ("<get-ipsec-statistics-information/>",
                            "<get-ipsec-statistics-information><show-index-ipsec-statistics>500001"
                            "</show-index-ipsec-statistics></get-ipsec-statistics-information>"):
                reply = rpcs.get_ipsec_statistics_information(ctx, etree.fromstring(request))
                assert reply.findtext("esp-statistics/esp-encrypted-packets") == "0"
            unknown = rpcs.get_ipsec_statistics_information(ctx, etree.fromstring(
                "<get-ipsec-statistics-information><show-index-ipsec-statistics>500077"
                "</show-index-ipsec-statistics></get-ipsec-statistics-information>"))
            assert len(unknown) == 0 and calls == []
        finally:
            await device.stop()
        assert engines.runner.wires == {}

    asyncio.run(go())


def test_device_a_commit_the_ike_daemon_cannot_apply_leaves_both_engines_as_they_were(tmp_path):
    """An unexpected failure inside the IKE daemon's apply vetoes the commit; the PFE, which had already taken
    the new configuration, goes back with it, and the next commit works."""
    import pytest

    async def go():
        device = await _device_with_engines(tmp_path, [Vpn(1, establish="responder-only")])
        engines = device.engines
        real_apply = engines.iked.apply
        failures = []

        def failing_apply(diff):
            if diff.ipsec_vpns.added and not failures:
                failures.append(diff)
                raise RuntimeError("IKE daemon bug")
            return real_apply(diff)

        engines.iked.apply = failing_apply
        second = peer_config(1, [Vpn(1, establish="responder-only"), Vpn(2, establish="responder-only")])
        sid = 7
        try:
            device.datastore.open_session(sid, "root", client="other", now=time.time())
            device.datastore.load(sid, second, format="set", action="set", now=time.time())
            with pytest.raises(Exception, match="IKE daemon bug"):
                device.datastore.commit(sid, time.time())
            assert set(engines.datapath.vpns) == {500001}  # the PFE went back
            assert set(engines.iked.engine.vpns) == {"vpn1"}
            assert set(device.datastore.running_intent.ipsec_vpns) == {"vpn1"}
            assert "st0.2" not in engines.datapath.interfaces.ports
            device.datastore.commit(sid, time.time())  # the same change, without the failure
            assert set(engines.datapath.vpns) == {500001, 500002}
            assert set(engines.iked.engine.vpns) == {"vpn1", "vpn2"}
        finally:
            device.datastore.close_session(sid, time.time())
            await device.stop()

    asyncio.run(go())
