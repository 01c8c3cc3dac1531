"""The asyncio shell: two daemons over real loopback UDP sockets (custom ports, so the non-ESP marker is on
every packet), the PFE callback transport, demultiplexing, and reconciliation at scale."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import pytest
from ike_harness import make_intent

from netconf_device import sa as contract
from netconf_device.config.intent import Intent, diff_intent
from netconf_device.ike.daemon import CallbackTransport, IkeDaemon, classify, needs_marker
from netconf_device.ike.engine import Engine
from netconf_device.ike.options import EngineOptions


def _free_port_pair() -> tuple[int, int]:
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port < 65000:
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s2:
                    s2.bind(("127.0.0.1", port + 1))
                return port, port + 1
            except OSError:
                continue
    raise RuntimeError("no free UDP port pair")


def test_classify_follows_the_non_esp_marker_rule():
    assert classify(b"\xff", 4500, 4500) == ("keepalive", b"")
    assert classify(b"\x00\x00\x00\x00IKE", 4500, 4500) == ("ike", b"IKE")
    assert classify(b"\x12\x34\x56\x78ESP", 4500, 4500)[0] == "esp"
    assert classify(b"\x12\x34\x56\x78IKE", 500, 4500) == ("ike", b"\x12\x34\x56\x78IKE")
    assert classify(b"\x00\x00", 15500, 16500)[0] == "short"
    assert needs_marker(15500, 16500) and not needs_marker(500, 16500)


def test_two_daemons_over_loopback_sockets():
    async def run():
        pa, na = _free_port_pair()
        pb, nb = _free_port_pair()
        la, lb = ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("127.0.0.1")
        got_a: list = []
        got_b: list = []
        da = IkeDaemon(EngineOptions(device_name="a", ike_port=pa, natt_port=na, remote_ike_port=pb,
                                     remote_natt_port=nb), bind_addresses=[la], on_event=got_a.append)
        db = IkeDaemon(EngineOptions(device_name="b", ike_port=pb, natt_port=nb, remote_ike_port=pa,
                                     remote_natt_port=na), bind_addresses=[lb], on_event=got_b.append)
        await da.start()
        await db.start()
        try:
            db.apply_intent(make_intent(lb, la, establish="responder-only",
                                        ts=[("10.2.0.0/16", "10.1.0.0/16")]))
            da.apply_intent(make_intent(la, lb, ts=[("10.1.0.0/16", "10.2.0.0/16")]))
            for _ in range(200):
                if any(isinstance(e, contract.ChildSaInstalled) for e in got_a):
                    break
                await asyncio.sleep(0.01)
            (ia,) = [e for e in got_a if isinstance(e, contract.ChildSaInstalled)]
            (ib,) = [e for e in got_b if isinstance(e, contract.ChildSaInstalled)]
            assert ia.sa.spi_out == ib.sa.spi_in and ia.sa.key_out == ib.sa.key_in
            assert da.transport.stats["rx"] >= 2 and db.transport.stats["tx"] >= 2
            assert da.ike_sa_snapshots()[0].remote_port == pb
            # stopping sends DELETE; the peer tears down too
            await da.stop(graceful=True)
            for _ in range(100):
                if any(isinstance(e, contract.ChildSaDeleted) for e in got_b):
                    break
                await asyncio.sleep(0.01)
            assert any(isinstance(e, contract.ChildSaDeleted) for e in got_b)
        finally:
            await da.stop(graceful=False)
            await db.stop(graceful=False)

    asyncio.run(run())


def test_callback_transport_feeds_the_engine_through_the_pfe_path():
    async def run():
        wire: list[tuple[str, contract.IkeDatagram]] = []
        da = IkeDaemon(EngineOptions(device_name="a"), transport=CallbackTransport(lambda d: wire.append(("a", d))))
        db = IkeDaemon(EngineOptions(device_name="b"), transport=CallbackTransport(lambda d: wire.append(("b", d))))
        await da.start()
        await db.start()
        a_addr, b_addr = ipaddress.ip_address("192.0.2.1"), ipaddress.ip_address("192.0.2.2")
        db.apply_intent(make_intent(b_addr, a_addr, establish="responder-only"))
        da.apply_intent(make_intent(a_addr, b_addr))
        for _ in range(20):
            while wire:
                sender, d = wire.pop(0)
                (db if sender == "a" else da).feed(d)
            await asyncio.sleep(0)
        assert [s.state for s in da.ike_sa_snapshots()] == ["UP"]
        assert any(isinstance(e, contract.ChildSaInstalled) for e in db.events)
        await da.stop(graceful=False)
        await db.stop(graceful=False)

    asyncio.run(run())


def test_reconciling_2000_gateways_is_linear_and_keeps_unchanged_ones():
    """2000 gateways applied, then one removed and one changed: only those two are touched."""
    eng = Engine(EngineOptions(device_name="x"))
    intents = {}
    base = Intent()
    gws, vpns = {}, {}
    for i in range(2000):
        remote = ipaddress.ip_address(f"10.{i // 250}.{i % 250}.1")
        it = make_intent("192.0.2.1", remote, gateway_name=f"gw{i}", vpn_name=f"vpn{i}", tunnel_index=500001 + i,
                         establish="responder-only")
        gws.update(it.ike_gateways)
        vpns.update(it.ipsec_vpns)
    intents = Intent(ike_gateways=gws, ipsec_vpns=vpns)
    eng.apply(diff_intent(base, intents), 0.0)
    assert len(eng.gateways) == 2000 and len(eng.vpns) == 2000
    assert len(eng._by_pair) == 2000
    gw = eng.gateways["gw7"]
    gws2 = dict(gws)
    vpns2 = dict(vpns)
    del gws2["gw5"], vpns2["vpn5"]
    from dataclasses import replace

    gws2["gw9"] = replace(gws["gw9"], nat_keepalive=30)
    vpns2["vpn9"] = replace(vpns["vpn9"], gateway=gws2["gw9"])
    eng.apply(diff_intent(intents, Intent(ike_gateways=gws2, ipsec_vpns=vpns2)), 1.0)
    assert "gw5" not in eng.gateways and eng.gateways["gw7"] is gw
    assert eng.gateways["gw9"].intent.nat_keepalive == 30
    assert eng._gateways_for("192.0.2.1", "10.0.9.1")[0].name == "gw9"


@pytest.mark.parametrize("family", ["ipv4"])
def test_udp_transport_drops_esp_and_keepalives(family):
    async def run():
        p, n = _free_port_pair()
        seen = []
        esp = []
        d = IkeDaemon(EngineOptions(device_name="x", ike_port=p, natt_port=n), bind_addresses=["127.0.0.1"],
                      on_esp=lambda *a: esp.append(a))
        await d.start()
        d.engine.receive_datagram = lambda dg, now: seen.append(dg)  # observe what reaches the engine
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            s.sendto(b"\xff", ("127.0.0.1", n))  # keepalive
            s.sendto(b"\x11\x22\x33\x44" + b"\x00" * 20, ("127.0.0.1", n))  # ESP (no marker)
            s.sendto(b"\x00\x00\x00\x00" + b"\x01" * 28, ("127.0.0.1", n))  # IKE with marker
        for _ in range(50):
            if seen and esp:
                break
            await asyncio.sleep(0.01)
        assert len(seen) == 1 and seen[0].payload == b"\x01" * 28 and seen[0].non_esp_marker
        assert len(esp) == 1 and d.transport.stats["rx_keepalive"] == 1
        await d.stop(graceful=False)

    asyncio.run(run())


def test_two_daemons_over_ipv6_loopback():
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
    except OSError:
        pytest.skip("no ::1")

    async def run():
        pa, na = _free_port_pair()
        pb, nb = pa + 2, na + 2
        lo = ipaddress.ip_address("::1")
        got: list = []
        da = IkeDaemon(EngineOptions(device_name="a", ike_port=pa, natt_port=na, remote_ike_port=pb,
                                     remote_natt_port=nb), on_event=got.append)
        db = IkeDaemon(EngineOptions(device_name="b", ike_port=pb, natt_port=nb, remote_ike_port=pa,
                                     remote_natt_port=na))
        await da.start()
        await db.start()
        try:
            db.apply_intent(make_intent(lo, lo, establish="responder-only"))
            da.apply_intent(make_intent(lo, lo))
            for _ in range(200):
                if any(isinstance(e, contract.ChildSaInstalled) for e in got):
                    break
                await asyncio.sleep(0.01)
            (ia,) = [e for e in got if isinstance(e, contract.ChildSaInstalled)]
            assert ia.sa.local_address == lo and ia.sa.local_ts == (ipaddress.ip_network("::/0"),)
        finally:
            await da.stop(graceful=False)
            await db.stop(graceful=False)

    asyncio.run(run())
