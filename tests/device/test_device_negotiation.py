"""How tunnels come up (or do not) between two devices: pre-shared-key and proposal mismatches keep the IKE
SA down and say so; `establish-tunnels on-traffic` starts on the first packet; `responder-only` never
initiates."""

from __future__ import annotations

import asyncio
import time

import pytest
from device_testlib import Vpn, ike_sas, ipsec_sas, open_host, output_text, wait_for


def _interface_output_packets(m, name: str) -> int:
    reply = m.command(f"show interfaces {name} detail", format="xml")
    return int(reply.xpath("//physical-interface/traffic-statistics/output-packets")[0].text)


def test_device_psk_and_proposal_mismatch_keep_the_ike_sa_down_and_say_so(pairs):
    pair = pairs.start([Vpn(1, psk="secret-of-peer-one"), Vpn(2)],
                       [Vpn(1, psk="secret-of-peer-two"), Vpn(2, ike_encryption="aes-128-cbc")])
    with pair.peer1.connect() as m1, pair.peer2.connect() as m2:

        def failed_both():
            reply = m1.command("show security ipsec inactive-tunnels", format="xml")
            reasons = {int(sa.findtext("sa-tunnel-index")): sa.findtext("sa-tunnel-down-reason")
                       for sa in reply.xpath("//ipsec-security-associations")}
            ok = "AUTHENTICATION_FAILED" in reasons.get(500001, "") and \
                "NO_PROPOSAL_CHOSEN" in reasons.get(500002, "")
            return reasons if ok else None

        wait_for(failed_both, timeout=20, what="both negotiations to fail")
        for m in (m1, m2):
            assert not any(sa["ike-sa-state"] == "UP" for sa in ike_sas(m))
            assert ipsec_sas(m) == {}
        text = output_text(m1.command("show security ipsec inactive-tunnels detail", format="text"))
        assert "Total inactive tunnels: 2" in text
        assert "AUTHENTICATION_FAILED" in text and "NO_PROPOSAL_CHOSEN" in text
        # the failed negotiations count as Fail#, none as Nego#
        reply = m1.command("show security ipsec inactive-tunnels", format="xml")
        for sa in reply.xpath("//ipsec-security-associations"):
            assert sa.findtext("sa-negotiations") == "0" and int(sa.findtext("sa-negotiation-failures")) >= 1
    logs = pair.peer1.log_text() + pair.peer2.log_text()
    assert "pre-shared key mismatch" in logs
    assert "NO_PROPOSAL_CHOSEN" in logs
    assert "secret-of-peer" not in logs  # the keys themselves are never logged


@pytest.mark.slow
def test_device_on_traffic_starts_on_the_first_packet_and_responder_only_never_initiates(pairs):
    pair = pairs.start([Vpn(1, establish="on-traffic"), Vpn(2, establish="responder-only")],
                       [Vpn(1, establish="responder-only"), Vpn(2, establish="responder-only")])
    with pair.peer1.connect() as m1, pair.peer2.connect() as m2:
        time.sleep(2.0)  # longer than an immediate negotiation takes: nobody initiated anything
        assert ike_sas(m1) == [] and ike_sas(m2) == []
        assert _interface_output_packets(m1, "et-0/2/10") == 0
        assert _interface_output_packets(m2, "et-0/2/10") == 0
        inactive = m1.command("show security ipsec inactive-tunnels", format="xml")
        assert inactive.xpath("//total-inactive-tunnels")[0].text == "2"

        async def first_packet():
            host1 = await open_host(pair, "host1", [1, 2])
            await open_host(pair, "host2", [1, 2])
            # the first echo request is the trigger (dropped while IKE negotiates); the next ones pass
            return await host1.ping("2.2.1.2", count=4, interval=0.3, timeout=1.0)

        result = asyncio.run(first_packet())
        assert result.received >= 3, result
        assert set(ipsec_sas(m1)) == {500001} and set(ipsec_sas(m2)) == {500001}
        sas = ike_sas(m1)
        assert [sa["ike-sa-remote-address"] for sa in sas if sa["ike-sa-state"] == "UP"] == ["16.1.1.2"]
        detail = m1.command("show security ike security-associations detail", format="xml")
        assert detail.xpath("//ike-sa-role")[0].text == "initiator"
        # responder-only on both ends of VPN 2: still nothing there
        assert 500002 not in ipsec_sas(m1)
        assert not any(sa["ike-sa-remote-address"] == "16.1.2.2" for sa in ike_sas(m1))
