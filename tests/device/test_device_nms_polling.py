"""NMS polling under change: 10 NETCONF sessions poll the IKE, IPsec and statistics RPCs every 100 ms while
traffic flows through two tunnels and one of them rekeys every few hundred packets. No RPC fails, no counter
ever goes backwards, and every reply has the reference shape (junos_shapes, from reference/junos-xml.md)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict

import pytest
from device_testlib import Vpn, connect, ipsec_sas, open_host, settled, wait_for
from junos_shapes import validate
from lxml import etree

SESSIONS = 10
PERIOD = 0.1
DURATION = 6.0
# one poll = one IKE, one IPsec and one statistics RPC; brief and detail forms alternate
POLLS = (
    ("<get-ike-security-associations-information/>",
     "<get-security-associations-information/>",
     "<get-ipsec-statistics-information/>"),
    ("<get-ike-security-associations-information><detail/></get-ike-security-associations-information>",
     "<get-security-associations-information><detail/></get-security-associations-information>",
     "<get-ipsec-statistics-information><show-index-ipsec-statistics>500001</show-index-ipsec-statistics>"
     "</get-ipsec-statistics-information>"),
)


def _counters(top) -> dict[str, int]:
    """Every counter a poller may compare: statistics leaves, and IKE traffic per IKE SA index."""
    name = etree.QName(top).localname
    if name == "usp-ipsec-total-statistics-information":
        return {etree.QName(e).localname: int(e.text) for e in top.iter() if len(e) == 0 and e.text}
    out = {}
    if name == "ike-security-associations-information":
        for block in top.iterfind("ike-security-associations-block"):
            index = block.findtext("ike-sa-index")
            for leaf in block.iterfind("ike-security-associations/ike-sa-traffic-statistics/*"):
                out[f"ike{index}/{etree.QName(leaf).localname}"] = int(leaf.text)
    return out


def _poller(port: int, stop: threading.Event, result: dict) -> None:
    last: dict[tuple[str, str], int] = {}
    try:
        with connect(port) as m:
            cycle = 0
            while not stop.is_set():
                started = time.monotonic()
                for request in POLLS[cycle % 2]:
                    reply = m.rpc(etree.fromstring(request))
                    tops = reply.xpath("/rpc-reply/*")
                    if len(tops) != 1:
                        result["problems"].append(f"{request}: {len(tops)} reply elements")
                        continue
                    result["problems"].extend(validate(tops[0]))
                    for counter, value in _counters(tops[0]).items():
                        key = (request, counter)
                        if value < last.get(key, 0):
                            result["backwards"].append(f"{counter}: {last[key]} -> {value}")
                        last[key] = value
                    result["rpcs"] += 1
                cycle += 1
                result["cycles"] += 1
                time.sleep(max(0.0, PERIOD - (time.monotonic() - started)))
    except Exception as exc:  # every failure is reported by the test
        result["errors"].append(repr(exc))


def _negotiations(m) -> int:
    reply = m.command("show security ipsec security-associations index 500001 detail", format="xml")
    return int(reply.xpath("//sa-nego-num")[0].text)


@pytest.mark.slow
def test_device_ten_nms_sessions_poll_while_traffic_flows_and_tunnels_rekey(pairs):
    pair = pairs.start([Vpn(1, lifetime_kb=96), Vpn(2)])
    with pair.peer1.connect() as m1, pair.peer2.connect() as m2:
        wait_for(lambda: len(ipsec_sas(m1)) == 2 and settled(m1, m2, 2), timeout=20, what="both tunnels up")
        negotiations_before = _negotiations(m1)

        stop = threading.Event()
        results = [defaultdict(int, problems=[], backwards=[], errors=[]) for _ in range(SESSIONS)]
        threads = [threading.Thread(target=_poller, args=(pair.peer1.port, stop, r), daemon=True) for r in results]
        for thread in threads:
            thread.start()

        async def traffic():
            host1 = await open_host(pair, "host1", [1, 2])
            await open_host(pair, "host2", [1, 2])
            deadline = asyncio.get_running_loop().time() + DURATION

            async def flow(destination: str, size: int):
                sent = received = 0
                while asyncio.get_running_loop().time() < deadline:
                    r = await host1.ping(destination, count=1, timeout=2.0, size=size)
                    sent, received = sent + r.sent, received + r.received
                return sent, received

            return await asyncio.gather(flow("2.2.1.2", 1000), flow("2.2.2.2", 200))

        flows = asyncio.run(traffic())
        stop.set()
        for thread in threads:
            thread.join(30)
        negotiations_after = _negotiations(m1)

    errors = [e for r in results for e in r["errors"]]
    problems = sorted({p for r in results for p in r["problems"]})
    backwards = [b for r in results for b in r["backwards"]]
    assert not errors, errors[:5]
    assert not problems, problems[:10]
    assert not backwards, backwards[:10]
    cycles = [r["cycles"] for r in results]
    print("cycles per session", cycles, "rpcs", sum(r["rpcs"] for r in results))
    assert min(cycles) >= DURATION / PERIOD / 4, cycles  # every session kept polling throughout
    assert negotiations_after - negotiations_before >= 3  # the tunnel rekeyed while being polled
    for sent, received in flows:
        assert sent > 50 and received == sent, flows
