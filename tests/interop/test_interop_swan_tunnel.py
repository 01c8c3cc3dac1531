"""Two real charons (one per namespace, kernel-libipsec) with a PSK tunnel: the harness proves itself.

One tunnel is brought up per module with a capture running from before IKE_SA_INIT; the tests then check
the data plane (ping), ``list-sas`` parsing, the keys extracted from both logs, and tshark's independent
verification of every IKE and ESP packet with those keys.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from swan_fixtures import LEFT_INNER, LEFT_NET, RIGHT_INNER, RIGHT_NET, pair_connections, swan_pair

from netconf_device.interop import netns
from netconf_device.interop.capture import Capture
from netconf_device.interop.tshark import decrypt_pcap, decrypt_with_charon_keys, summarize

pytestmark = [pytest.mark.root, pytest.mark.strongswan]


@pytest.fixture(scope="module")
def tunnel():
    """A PSK tunnel (aes256-sha256-modp2048 / aes256gcm16), pinged 3 times, capture stopped afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix="ndsw-"))
    try:
        with swan_pair("tun", workdir) as pair:
            cap = Capture(workdir / "wan.pcap", netns=pair.topo.left.name, interface=pair.topo.veth.a_if, bpf="udp")
            with cap:
                pair.left.initiate()
                pinged = pair.ping(3)
                time.sleep(0.2)
            yield pair, cap.path, pinged
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def test_interop_psk_tunnel_carries_ping(tunnel):
    pair, _, pinged = tunnel
    assert pinged, "ping 1.1.1.1 -> 2.2.2.2 through the tunnel failed"
    (lchild,) = pair.left.child_sas("net")
    (rchild,) = pair.right.child_sas("net")
    # libipsec counts only authenticated packets: 3 requests in on the right, 3 replies in on the left
    assert rchild.packets_in >= 3 and lchild.packets_in >= 3
    assert lchild.packets_out >= 3 and rchild.packets_out >= 3
    assert lchild.spi_out == rchild.spi_in and lchild.spi_in == rchild.spi_out


def test_interop_list_sas_parsed(tunnel):
    pair, _, _ = tunnel
    (lsa,) = pair.left.list_sas()
    (rsa,) = pair.right.list_sas()
    assert (lsa.name, lsa.state, lsa.version) == ("peer", "ESTABLISHED", 2)
    assert lsa.initiator and not rsa.initiator
    assert (lsa.spi_i, lsa.spi_r) == (rsa.spi_i, rsa.spi_r) and lsa.spi_i and lsa.spi_r
    assert (lsa.local_host, lsa.remote_host, lsa.local_id, lsa.remote_id) == (
        "10.200.0.1", "10.200.0.2", "10.200.0.1", "10.200.0.2")
    # libipsec forces UDP encapsulation: NAT-T is faked and IKE floated to 4500
    assert (lsa.local_port, lsa.remote_port) == (4500, 4500) and lsa.nat_any
    assert (lsa.encr_alg, lsa.encr_keysize, lsa.integ_alg, lsa.prf_alg, lsa.dh_group) == (
        "AES_CBC", 256, "HMAC_SHA2_256_128", "PRF_HMAC_SHA2_256", "MODP_2048")
    (child,) = lsa.children
    assert (child.name, child.state, child.mode, child.protocol, child.encap) == (
        "net", "INSTALLED", "TUNNEL", "ESP", True)
    assert (child.encr_alg, child.encr_keysize, child.integ_alg) == ("AES_GCM_16", 256, None)
    assert child.local_ts == (LEFT_NET,) and child.remote_ts == (RIGHT_NET,)
    assert child.bytes_in > 0 and child.bytes_out > 0
    # a second, independent path to the same data: our vici client
    with pair.left.vici() as v:
        items = v.list_sas()
    raw = items[0]["peer"]
    assert int(raw["initiator-spi"], 16) == lsa.spi_i
    assert int(raw["child-sas"]["net-1"]["spi-in"], 16) == child.spi_in


def test_interop_keys_from_both_logs_agree(tunnel):
    pair, _, _ = tunnel
    lkeys, rkeys = pair.left.keys(), pair.right.keys()
    (lsa,) = pair.left.list_sas()
    (lchild,) = lsa.children
    like = lkeys.ike(lsa.spi_i, lsa.spi_r)
    rike = rkeys.ike(lsa.spi_i, lsa.spi_r)
    assert like == rike
    assert like.proposal == "IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048"
    assert len(like.sk_ei) == len(like.sk_er) == 32 and len(like.sk_ai) == len(like.sk_ar) == 32
    assert len(like.sk_d) == len(like.sk_pi) == len(like.sk_pr) == 32
    assert len({like.sk_ei, like.sk_er, like.sk_ai, like.sk_ar, like.sk_pi, like.sk_pr}) == 6
    lc = lkeys.child(lchild.spi_in)
    assert (lc.spi_in, lc.spi_out) == (lchild.spi_in, lchild.spi_out)
    assert lc.exchange_initiator and lc.proposal == "ESP:AES_GCM_16_256/NO_EXT_SEQ"
    rc = rkeys.child(lchild.spi_out)
    assert not rc.exchange_initiator
    # the initiator's outbound SA is the responder's inbound SA, and vice versa
    assert rc.spi_in == lc.spi_out and rc.key_in == lc.key_out
    assert rc.spi_out == lc.spi_in and rc.key_out == lc.key_in
    assert len(lc.key_in) == len(lc.key_out) == 36  # AES-256 key + 4-byte salt
    assert lc.key_in != lc.key_out and lc.integ_key_in == lc.integ_key_out == b""
    assert (lc.local, lc.remote) == ("10.200.0.1", "10.200.0.2")


def test_interop_tshark_verifies_every_packet(tunnel, need_tshark):
    pair, pcap, _ = tunnel
    # the initiator's log alone has every key needed
    results = decrypt_with_charon_keys(pcap, pair.left.keys())
    s = summarize(results)
    assert s.ike_encrypted >= 2 and s.ike_correct == s.ike_encrypted and s.ike_incorrect == 0
    assert s.esp >= 6 and s.esp_good == s.esp and s.all_verified
    inner = {(r.inner_src, r.inner_dst, r.inner_protocols) for r in results if r.kind == "esp"}
    assert inner == {(LEFT_INNER, RIGHT_INNER, ("ip", "icmp")), (RIGHT_INNER, LEFT_INNER, ("ip", "icmp"))}
    auth = [r for r in results if r.ike_exchange == "IKE_AUTH"]
    assert [r.ike_response for r in auth] == [False, True] and all(r.non_esp_marker for r in auth)
    assert "Authentication" in auth[0].ike_payloads and "Traffic Selector - Initiator" in auth[0].ike_payloads
    # negative control: with one wrong key per direction tshark reports failures (the check can fail)
    keys = pair.left.keys()
    bad_ike = [dataclasses.replace(k, sk_ar=bytes(len(k.sk_ar))) for k in keys.ike_sas]
    bad_esp = [dataclasses.replace(k, encryption_key=bytes(len(k.encryption_key))) for k in keys.esp_sas()]
    bad = summarize(decrypt_pcap(pcap, ike_keys=bad_ike, esp_keys=bad_esp))
    assert bad.ike_incorrect >= 1 and bad.esp_good == 0 and bad.esp_bad >= 1 and not bad.all_verified


def test_interop_gcm_pfs_rekeys_from_both_sides(swan_workdir, need_tshark):
    """GCM IKE, ESP with PFS (KE only on rekey), child and IKE rekeys started by each side; keys of every
    generation agree between the logs and decrypt the capture."""
    lconn, rconn = pair_connections(ike="aes256gcm16-prfsha384-ecp384", esp="aes256gcm16-ecp256")
    with swan_pair("pfs", swan_workdir, lconn, rconn) as pair:
        with Capture(swan_workdir / "wan.pcap", netns=pair.topo.left.name, interface=pair.topo.veth.a_if,
                     bpf="udp") as cap:
            pair.left.initiate()
            assert pair.ping(2)
            for side in (pair.left, pair.right):
                old_child = {c.spi_in for c in side.child_sas("net")}
                side.rekey_child()
                side.wait_for_child("net", exclude_spis=old_child)
                assert pair.ping(2)
                old_ike = {s.spi_i for s in side.list_sas()}
                side.rekey_ike()
                side.wait_for_ike(exclude_spis=old_ike)
                assert pair.ping(2)
            time.sleep(0.3)
        (child,) = pair.left.child_sas("net")
        assert child.dh_group == "ECP_256"  # the rekeyed child used PFS
        lkeys, rkeys = pair.left.keys(), pair.right.keys()
        assert len(lkeys.ike_sas) == 3 and len(lkeys.child_sas) == 3
        for k in lkeys.ike_sas:
            assert rkeys.ike(k.spi_i, k.spi_r) == k
            assert k.proposal == "IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384"
            assert len(k.sk_ei) == 36 and k.sk_ai == b""
        for c in lkeys.child_sas:
            peer = rkeys.child(c.spi_out)
            assert (peer.spi_in, peer.key_in, peer.key_out) == (c.spi_out, c.key_out, c.key_in)
            assert peer.exchange_initiator != c.exchange_initiator
        assert [c.exchange_initiator for c in lkeys.child_sas] == [True, True, False]
        assert [c.proposal for c in lkeys.child_sas][1:] == ["ESP:AES_GCM_16_256/ECP_256/NO_EXT_SEQ"] * 2
        s = summarize(decrypt_with_charon_keys(cap.path, lkeys.merge(rkeys)))
        assert s.all_verified and s.esp >= 12 and s.ike_encrypted >= 12


def test_interop_host_behind_charon_reaches_through_tunnel(swan_workdir):
    """The lab topology: a host in its own namespace behind charon (routed, not on charon's lo)."""
    with swan_pair("fwd", swan_workdir) as pair:
        with netns.Netns.create(f"{pair.topo.prefix}-h") as host:
            netns.add_veth(pair.topo.right.name, f"{pair.topo.prefix}-rh", host.name, f"{pair.topo.prefix}-h0",
                           a_addr="2.2.2.1/24", b_addr="2.2.2.10/24")
            host.add_route("default", via="2.2.2.1")
            pair.topo.right.sysctl("net.ipv4.ip_forward", 1)
            pair.left.initiate()
            ping = host.run(["ping", "-n", "-c", "3", "-i", "0.2", "-W", "2", LEFT_INNER], check=False)
            assert " 3 received" in ping.stdout
            back = pair.topo.left.run(["ping", "-n", "-c", "2", "-i", "0.2", "-W", "2", "-I", LEFT_INNER,
                                       "2.2.2.10"], check=False)
            assert " 2 received" in back.stdout
            (child,) = pair.right.child_sas("net")
            assert child.packets_in >= 5 and child.packets_out >= 5
