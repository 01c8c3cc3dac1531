"""Liveness between two devices: dead peer detection notices a peer that restarts, and the tunnel comes back;
rekeys by lifetime (a short volume lifetime, rekeying about every 60 packets) lose no packet of a continuous
ping, with both ends rekeying at once (collisions included)."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest
from device_testlib import Vpn, ike_sas, ipsec_sas, open_host, output_text, statistics, wait_for


@pytest.mark.slow
def test_device_dpd_detects_a_restarted_peer_and_the_tunnel_comes_back(pairs):
    vpn = Vpn(1, dpd=("always-send", 2, 1))
    pair = pairs.start([vpn])
    with pair.peer1.connect() as m1:
        wait_for(lambda: ipsec_sas(m1), what="tunnel up")
        old_sas = ipsec_sas(m1)[500001]
        pair.peer2.stop(signal.SIGKILL)  # no DELETE: only DPD can tell
        started = time.monotonic()
        wait_for(lambda: not any(sa["ike-sa-state"] == "UP" for sa in ike_sas(m1)) and not ipsec_sas(m1),
                 timeout=20, what="DPD to declare the peer dead")
        assert time.monotonic() - started < 10  # interval 2 s, threshold 1: a few seconds, not a lifetime
        inactive = output_text(m1.command("show security ipsec inactive-tunnels detail", format="text"))
        assert "Peer is not responding to DPD" in inactive
        assert "peer is dead" in pair.peer1.log_text()
        terse = m1.command("show interfaces terse st0.1", format="xml")
        assert terse.xpath("//logical-interface/oper-status")[0].text == "down"

        pair.peer2.start()  # same state directory: same configuration
        wait_for(lambda: ipsec_sas(m1), timeout=20, what="the tunnel back")
        assert ipsec_sas(m1)[500001] != old_sas

        async def ping():
            host1 = await open_host(pair, "host1", [1])
            await open_host(pair, "host2", [1])
            return await host1.ping("2.2.1.2", count=3, interval=0.05, timeout=2.0)

        assert asyncio.run(ping()).received == 3


def test_device_rekeys_by_lifetime_lose_no_packets(pairs):
    vpn = Vpn(1, lifetime_kb=64)  # 64 KiB per SA and direction: a rekey about every 60 pings of 1000 bytes
    pair = pairs.start([vpn])
    with pair.peer1.connect() as m1, pair.peer2.connect() as m2:
        wait_for(lambda: ipsec_sas(m1) and ipsec_sas(m2), what="tunnel up")
        first = ipsec_sas(m1)[500001]

        async def continuous_ping():
            host1 = await open_host(pair, "host1", [1])
            await open_host(pair, "host2", [1])
            return await host1.ping("2.2.1.2", count=600, interval=0.0, timeout=2.0, size=1000)

        result = asyncio.run(continuous_ping())
        assert result.sent == 600 and result.received == 600, f"lost {result.sent - result.received} packets"
        assert ipsec_sas(m1)[500001] != first
        detail = m1.command("show security ipsec security-associations detail", format="xml")
        assert int(detail.xpath("//sa-nego-num")[0].text) >= 8  # 600 KiB each way over 64 KiB SAs
        text = output_text(m1.command("show security ipsec security-associations detail", format="text"))
        assert "IPSec SA rekey successfully completed" in text
        for m in (m1, m2):
            stats = statistics(m)
            assert stats["esp-encrypted-packets"] == stats["esp-decrypted-packets"] == 600
            assert stats["invalid-spi-errors"] == stats["replay-errors"] == stats["discard-errors"] == 0
