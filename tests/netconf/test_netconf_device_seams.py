"""The seams the integration plugs into: commit apply callbacks, live interface state, extra RPCs."""

from __future__ import annotations

import asyncio
import threading

import ncclient.transport.session
import pytest
from lxml import etree
from ncclient import manager
from ncclient.operations import RPCError

from netconf_device.config.datastore import Datastore
from netconf_device.device import Device, DeviceOptions
from netconf_device.netconf.passwords import sha512_crypt
from netconf_device.rpc.interfaces import InterfaceState
from netconf_device.rpc.registry import rpc
from netconf_device.rpc.render import text_renderer
from netconf_device.rpc.xmlbuild import el, sub

ncclient.transport.session.TICK = 0.001


@rpc("get-ike-security-associations-information")
def fake_ike_sas(ctx, req):
    info = el("ike-security-associations-information")
    sub(sub(info, "ike-security-associations"), "ike-sa-remote-address", "16.1.1.2")
    return info


@text_renderer("ike-security-associations-information")
def fake_ike_text(info):
    return "Index   State  Remote Address\n500001  UP     " + info.findtext(".//ike-sa-remote-address") + "\n"


@pytest.fixture
def inproc(tmp_path):
    """A device in this process (its own event loop in a thread), so the test can reach its seams."""
    options = DeviceOptions(state_dir=str(tmp_path), port=0, bootstrap_users={"admin": sha512_crypt("pw")},
                            auth_failure_delay=0.1)
    device = Device(options, datastore=Datastore(tmp_path))
    calls = []

    def apply(old, new):
        calls.append((old.system.host_name, new.system.host_name))
        if new.system.host_name == "vetoed":
            raise RuntimeError("the IKE daemon refuses")

    device.add_apply_callback(apply)
    import sys

    device.registry.add_module(sys.modules[__name__])
    loop = asyncio.new_event_loop()
    started = threading.Event()
    box = {}

    def run():
        asyncio.set_event_loop(loop)
        box["port"] = loop.run_until_complete(device.start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(20)
    yield device, box["port"], calls
    asyncio.run_coroutine_threadsafe(device.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def connect(port):
    return manager.connect(host="127.0.0.1", port=port, username="admin", password="pw", hostkey_verify=False,
                           look_for_keys=False, allow_agent=False, device_params={"name": "junos"})


def test_commits_reach_the_apply_callbacks_and_a_veto_fails_the_commit(inproc):
    device, port, calls = inproc
    with connect(port) as m:
        m.load_configuration(action="set", format="text", config=["set system host-name seam"])
        m.commit()
        assert calls[-1][1] == "seam"
        m.load_configuration(action="set", format="text", config=["set system host-name vetoed"])
        with pytest.raises(RPCError) as info:
            m.commit()
        assert "refuses" in str(info.value)
        assert device.hostname == "seam"


def test_live_interface_state_and_registered_rpcs_with_table_rows(inproc):
    device, port, _ = inproc
    with connect(port) as m:
        m.load_configuration(action="set", format="text", config=[
            "set interfaces et-0/1/8 unit 0 family inet address 1.1.1.1/24"])
        m.commit()
        device.interface_state = lambda name: InterfaceState(oper_up=False, input_packets=42) \
            if name == "et-0/1/8" else None
        reply = m.rpc(etree.fromstring("<get-interface-information><interface-name>et-0/1/8</interface-name>"
                                       "<detail/></get-interface-information>"))
        phys = reply.xpath("//physical-interface")[0]
        assert phys.findtext("oper-status") == "down"
        assert phys.findtext("traffic-statistics/input-packets") == "42"
        assert phys.findtext("logical-interface/oper-status") == "down"
        # the integration's RPC answers through the command table in every format
        xml = m.command("show security ike security-associations", format="xml")
        assert xml.xpath("//ike-sa-remote-address")[0].text == "16.1.1.2"
        text = m.command("show security ike security-associations", format="text")
        assert "500001  UP     16.1.1.2" in str(text)
        rpc_of = m.command("show security ike security-associations index 500001| display xml rpc")
        assert rpc_of.xpath("//show-index-ike-security-association")[0].text == "500001"
