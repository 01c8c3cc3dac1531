"""`show interfaces NAME`: an exact name is looked up, not matched against every interface (st0 has a unit per
VPN: 2000 of them in labs/scale-2000)."""

from __future__ import annotations

import time

import pytest
from lxml import etree

from netconf_device.config.datastore import Datastore
from netconf_device.device import Device, DeviceOptions
from netconf_device.netconf.errors import RpcError
from netconf_device.rpc import interfaces
from netconf_device.rpc.interfaces import InterfaceInfoBuilder, InterfaceState

UNITS = 300


@pytest.fixture(scope="module")
def device(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ndpol-if")
    device = Device(DeviceOptions(state_dir=str(tmp), port=0), datastore=Datastore(tmp))
    device.start_configuration()
    lines = ["set interfaces et-0/2/10 unit 0 family inet address 16.1.1.1/24"]
    for n in range(1, UNITS + 1):
        lines.append(f"set interfaces st0 unit {n} family inet address 10.{n // 250}.{n % 250}.1/30")
        if n % 7 == 0:
            lines.append(f"set interfaces st0 unit {n} description tunnel-{n}")
    ds = device.datastore
    ds.open_session(1, "root", client="other", now=time.time())
    ds.load(1, "\n".join(lines), format="set", action="set", now=time.time())
    ds.commit(1, time.time())
    ds.close_session(1, time.time())
    return device


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


@pytest.mark.parametrize("level", ["normal", "terse", "detail"])
def test_one_unit_is_the_same_element_as_in_the_whole_listing(device, level):
    builder = InterfaceInfoBuilder(device)
    whole = builder.build(names="st0", level=level)
    listed = {e.findtext("{*}name"): e for e in whole.iter("{*}logical-interface")}
    assert len(listed) == UNITS
    for name in ("st0.1", "st0.150", "st0.154", f"st0.{UNITS}"):
        one = builder.build(names=name, level=level)
        kids = list(one)
        assert [_local(k) for k in kids] == ["logical-interface"]
        assert etree.tostring(kids[0]) == etree.tostring(listed[name])
    assert builder.build(names="st0.154", level="detail").findtext("{*}logical-interface/{*}description") == \
        "tunnel-154"


def test_a_unit_costs_one_unit_and_one_state_query(device, monkeypatch):
    """Counted, not timed: the builder makes one Unit and asks the PFE about that unit and its parent only."""
    made = []

    class CountingUnit(interfaces.Unit):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self.name)

    monkeypatch.setattr(interfaces, "Unit", CountingUnit)
    asked = []

    def state(name: str) -> InterfaceState | None:
        asked.append(name)
        return None

    InterfaceInfoBuilder(device, state).build(names="st0.150", level="detail")
    assert made == ["st0.150"]
    assert set(asked) == {"st0", "st0.150"}
    made.clear()
    InterfaceInfoBuilder(device, state).build(names="et-0/2/10")
    assert made == ["et-0/2/10.0"]


def test_physical_names_builtin_ports_wildcards_and_missing_units(device):
    builder = InterfaceInfoBuilder(device)
    one = builder.build(names="et-0/2/10")
    assert [p.findtext("{*}name") for p in one.iter("{*}physical-interface")] == ["et-0/2/10"]
    port = builder.build(names="et-0/0/3")  # installed, not configured: listed with its link down
    assert port.findtext("{*}physical-interface/{*}oper-status") == "down"
    matched = [p.findtext("{*}name") for p in builder.build(names="et-0/2/1*").iter("{*}physical-interface")]
    assert "et-0/2/10" in matched and len(matched) > 1 and all(n.startswith("et-0/2/1") for n in matched)
    assert builder.build(names="lo0.16385", instance="__juniper_private1__").findtext(
        "{*}logical-interface/{*}name") == "lo0.16385"
    for missing in ("st0.9999", "xe-9/9/9", "st0.1.2"):
        with pytest.raises(RpcError) as info:
            builder.build(names=missing)
        assert info.value.message == f"device {missing} not found"
