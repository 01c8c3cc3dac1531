"""A charon bound to loopback on custom ports (inside a scratch namespace that has only ``lo``).

strongSwan frames IKE with the non-ESP marker whenever neither UDP port is 500, including IKE_SA_INIT: our
own probe gets an answer only with the marker, and a marker-less packet is taken for ESP. Two charons on
custom ports also establish a tunnel, floating only their own port to the custom NAT-T port.
"""

from __future__ import annotations

import time

import pytest
from swan_fixtures import swan_prefix

from netconf_device.interop import netns
from netconf_device.interop.capture import Capture
from netconf_device.interop.ike_probe import IKE_SA_INIT, probe_ike_sa_init
from netconf_device.interop.strongswan import Charon, loopback_settings, stop_all
from netconf_device.interop.swanctl_conf import Child, Connection
from netconf_device.interop.tshark import decrypt_with_charon_keys, summarize

pytestmark = [pytest.mark.root, pytest.mark.strongswan]

LOOP_TS = (Child(local_ts=("127.0.0.1/32",), remote_ts=("127.0.0.1/32",)),)


@pytest.fixture
def loopback_ns():
    with netns.Netns.create(swan_prefix("lo")) as ns:
        yield ns


def test_interop_custom_port_needs_non_esp_marker(loopback_ns, swan_workdir):
    responder = Charon(swan_workdir, "lo-r", netns=loopback_ns.name, settings=loopback_settings(15500, 15501))
    with responder:
        responder.load(Connection(local_addrs=("127.0.0.1",), proposals=("aes256-sha256-ecp256",), psk="lo-psk",
                                  children=LOOP_TS))
        # without the marker: charon parses the first 4 bytes (our SPIi) as an ESP SPI and drops it
        plain = probe_ike_sa_init("127.0.0.1", 15500, sock=loopback_ns.socket(), marker=False, timeout=1.0)
        assert plain is None
        responder.wait_for_log(r"inbound ESP packet does not belong to an installed SA")
        # with the marker: a proper IKE_SA_INIT response, itself marked
        reply = probe_ike_sa_init("127.0.0.1", 15500, sock=loopback_ns.socket(), marker=True, timeout=3.0)
        assert reply is not None and reply.is_ike_sa_init_response
        assert reply.exchange == IKE_SA_INIT and reply.non_esp_marker and reply.spi_r != 0
        assert reply.source == ("127.0.0.1", 15500)
        assert reply.payloads[:3] == ("SA", "KE", "Nonce")
        assert "N(NAT_DETECTION_SOURCE_IP)" in reply.payloads
        # a proposal charon does not accept is refused, also over the marker
        refused = probe_ike_sa_init("127.0.0.1", 15500, sock=loopback_ns.socket(), marker=True, group=14)
        assert refused is not None and refused.payloads == ("N(NO_PROPOSAL_CHOSEN)",)


def test_interop_two_charons_on_loopback_custom_ports(loopback_ns, swan_workdir, need_tshark):
    r = Charon(swan_workdir, "lo-r", netns=loopback_ns.name, settings=loopback_settings(15500, 15501))
    i = Charon(swan_workdir, "lo-i", netns=loopback_ns.name, settings=loopback_settings(16500, 16501))
    try:
        r.start()
        i.start()
        r.load(Connection(local_addrs=("127.0.0.1",), psk="lo-psk", children=LOOP_TS))
        i.load(Connection(local_addrs=("127.0.0.1",), remote_addrs=("127.0.0.1",), remote_port=15500,
                          psk="lo-psk", children=LOOP_TS))
        with Capture(swan_workdir / "lo.pcap", netns=loopback_ns.name, interface="lo", bpf="udp") as cap:
            i.initiate()
            time.sleep(0.2)
        # every IKE message carries the marker, IKE_SA_INIT included; tshark needs the ports as udpencap
        ports = (15500, 15501, 16500, 16501)
        results = decrypt_with_charon_keys(cap.path, i.keys(), udpencap_ports=ports)
        ike = [x for x in results if x.kind == "ike"]
        assert [x.ike_exchange for x in ike] == ["IKE_SA_INIT"] * 2 + ["IKE_AUTH"] * 2
        assert all(x.non_esp_marker for x in ike)
        assert [(x.sport, x.dport) for x in ike] == [(16500, 15500), (15500, 16500), (16501, 15500), (15500, 16501)]
        s = summarize(results)
        assert s.ike_encrypted == 2 and s.ike_correct == 2 and s.all_verified
        assert not any(x.kind == "ike" for x in decrypt_with_charon_keys(cap.path, i.keys()))  # unmapped ports
        (isa,) = i.list_sas()
        (rsa,) = r.list_sas()
        # each floats its own port to its NAT-T port; the remote port floats only from 500, so 15500 stays
        assert (isa.local_port, isa.remote_port) == (16501, 15500)
        assert (rsa.local_port, rsa.remote_port) == (15500, 16501)
        assert isa.children[0].state == "INSTALLED" and isa.children[0].encap
        # each instance has its own routing table for libipsec's routes
        rules = loopback_ns.run(["ip", "rule"]).stdout
        assert "lookup 35500" in rules and "lookup 36500" in rules
    finally:
        stop_all([i, r])
    assert "lookup 3" not in loopback_ns.run(["ip", "rule"]).stdout  # both removed their rule on exit
