"""The device's own parts without processes: the bounded mailbox between the engines, and a device with
engines composed in this process (the Python API of docs/device.md)."""

from __future__ import annotations

import asyncio
import time

from device_testlib import PASSWORD, USER, Vpn, free_udp_ports, peer_config

from netconf_device.config.datastore import Datastore
from netconf_device.device import Device, DeviceOptions
from netconf_device.device_cli import load_initial_config
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


def test_device_in_process_composition_applies_commits_to_both_engines(tmp_path):
    async def go():
        wan, far = free_udp_ports(2)
        options = DeviceOptions(state_dir=str(tmp_path), port=0, bootstrap_users={USER: sha512_crypt(PASSWORD)},
                                wires=(parse_wire(f"et-0/2/10=udp:127.0.0.1:{wan}:127.0.0.1:{far}"),))
        device = Device(options, datastore=Datastore(tmp_path), engines=True)
        await device.start_engines()
        device.start_configuration()
        config = tmp_path / "peer1.set"
        config.write_text(peer_config(1, [Vpn(1, establish="responder-only"), Vpn(2, establish="on-traffic")]))
        load_initial_config(device.datastore, config)  # a commit: through the one apply callback
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
        finally:
            await device.stop()
        assert engines.runner.wires == {}

    asyncio.run(go())
