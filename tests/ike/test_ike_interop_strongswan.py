"""Our IKE daemon against a real strongSwan (charon 5.9, kernel-libipsec), checked independently.

Topology: namespaces ``<prefix>-l`` (our daemon's sockets, 10.200.0.1, host 1.1.1.1) and ``<prefix>-r``
(charon, 10.200.0.2, host 2.2.2.2). libipsec always UDP-encapsulates, so charon fakes NAT detection and both
sides float to 4500 with the non-ESP marker. Every scenario checks that

* both sides report the IKE SA and the child SA (charon's ``list-sas``, our snapshots and events),
* the child SA keys we derived equal the keys charon logged,
* ESP that scapy builds from *our* keys is accepted by charon (its ESP in-counter rises, which libipsec only
  does after the ICV verified) and charon's answer decrypts with our inbound key,
* tshark decrypts every captured IKE message with *our* IKE keys (all integrity checks correct) and verifies
  every ESP packet with our child keys.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import tempfile
import time
from pathlib import Path

import pytest
from ike_harness import esp_proposal, ike_proposal, make_intent
from ike_interop import DaemonThread, addr, esp_keys, esp_ping_payloads, open_esp

from netconf_device.config.intent import CaProfile, DeadPeerDetection, IkeIdentity, LocalCertificate
from netconf_device.ike.options import EngineOptions
from netconf_device.interop import netns
from netconf_device.interop.capture import Capture
from netconf_device.interop.certs import TestCa
from netconf_device.interop.strongswan import Charon, loopback_settings
from netconf_device.interop.swanctl_conf import Child, Connection
from netconf_device.interop.tshark import decrypt_pcap, summarize

pytestmark = [pytest.mark.root, pytest.mark.strongswan]

OURS, SWAN = "10.200.0.1", "10.200.0.2"
OUR_HOST, SWAN_HOST = "1.1.1.1", "2.2.2.2"
OUR_NET, SWAN_NET = "1.1.1.0/24", "2.2.2.0/24"
PSK = "interop psk for netconf-device"
IKE_MODP = ("aes256-sha256-modp2048", ike_proposal("aes-256-cbc", "sha-256", "group14"))
IKE_GCM = ("aes256gcm16-prfsha384-ecp384", ike_proposal("aes-256-gcm", None, "group20"))


def _prefix(tag: str) -> str:
    return f"ndike{tag}{os.getpid() % 1000}"


@pytest.fixture(scope="module")
def topo():
    if not shutil.which("tshark"):
        pytest.skip("needs tshark (CI installs it)")
    with netns.NetnsPair(_prefix("p"), left_addr=f"{OURS}/24", right_addr=f"{SWAN}/24",
                         left_inner=[f"{OUR_HOST}/32"], right_inner=[f"{SWAN_HOST}/32"]) as t:
        yield t


@pytest.fixture
def workdir():
    path = Path(tempfile.mkdtemp(prefix="ndike-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def charon(topo, workdir):
    c = Charon(workdir, "swan", netns=topo.right.name).start()
    try:
        yield c
    finally:
        c.stop()


def _ours(topo, **opts) -> DaemonThread:
    options = EngineOptions(device_name="ours", retransmit_timeout=1.0, retransmit_tries=4, **opts)
    return DaemonThread(options, bind_addresses=[addr(OURS)],
                        socket_factory=lambda family: topo.left.socket(family, socket.SOCK_DGRAM))


@pytest.fixture
def ours(topo):
    d = _ours(topo)
    try:
        yield d
    finally:
        d.stop()


def _swan_conn(ike: str, esp: str = "aes256gcm16", initiator: bool = False, **kw) -> Connection:
    return Connection(local_addrs=(SWAN,), remote_addrs=(OURS,) if initiator else ("%any",), proposals=(ike,),
                      psk=None if kw.get("auth") == "pubkey" else PSK,
                      children=(Child(local_ts=(SWAN_NET,), remote_ts=(OUR_NET,), esp_proposals=(esp,)),), **kw)


def _our_intent(ike, establish="immediately", **kw):
    # remote-identity makes us send IDr: charon's secret is scoped to its own ID, and without IDr charon
    # looks the PSK up for "%any" (strongSwan ike_auth.c)
    kw.setdefault("remote_id", IkeIdentity("inet", SWAN))
    return make_intent(OURS, SWAN, psk=None if kw.get("cert") else PSK.encode(), ike=ike,
                       ts=[(OUR_NET, SWAN_NET)], establish=establish, **kw)


# ------------------------------------------------------------------------------------------- checks
def _check_sas(ours: DaemonThread, charon: Charon):
    """Both sides agree on the IKE SA and the (single) child SA; returns our ChildSa."""
    (child,) = ours.wait_children(1)
    swan_child = charon.wait_until("charon's child SA with our SPI", lambda: next(
        (c for c in charon.child_sas() if c.spi_in == child.spi_out), None))
    assert swan_child.spi_out == child.spi_in
    assert (swan_child.encr_alg, swan_child.encr_keysize) == ("AES_GCM_16", 256)
    swan_ike = [s for s in charon.list_sas() if s.state == "ESTABLISHED"]
    our_ike = ours.ike_sas()
    assert {(s.spi_i, s.spi_r) for s in swan_ike} >= {(int.from_bytes(s.spi_i, "big"), int.from_bytes(s.spi_r, "big"))
                                                      for s in our_ike}
    snaps = ours.call(lambda: ours.daemon.ike_sa_snapshots())
    assert any(s.state == "UP" for s in snaps)
    return child


def _check_keys(child, charon: Charon):
    """Our derived child keys equal the ones charon logged for the same SPIs."""
    ck = charon.wait_until("charon's logged child keys", lambda: charon.keys().child(child.spi_out))
    assert ck.spi_in == child.spi_out and ck.spi_out == child.spi_in
    assert ck.key_in == child.key_out, "our outbound key differs from charon's inbound key"
    assert ck.key_out == child.key_in, "our inbound key differs from charon's outbound key"


def _check_esp(ours: DaemonThread, charon: Charon, child, count: int = 3, swan_port: int = 4500):
    """ESP built by scapy from our keys is accepted by charon; its replies open with our inbound key."""
    swan_child = next(c for c in charon.child_sas() if c.spi_in == child.spi_out)
    before = swan_child.packets_in
    enc = child.encap
    assert enc is not None and enc.kind == "nat-t"  # libipsec always encapsulates
    with ours._lock:
        ours.esp_in.clear()
    for payload in esp_ping_payloads(child, OUR_HOST if swan_port == 4500 else str(child.local_address),
                                     SWAN_HOST if swan_port == 4500 else str(child.remote_address), count):
        sent = ours.call(lambda p=payload: ours.daemon.transport.send_udp(child.local_address, enc.source_port,
                                                                          child.remote_address, swan_port, p))
        assert sent
    after = charon.wait_until("charon's ESP in-counter to rise", lambda: next(
        (c.packets_in for c in charon.child_sas() if c.spi_in == child.spi_out and c.packets_in >= before + count),
        None))
    assert after >= before + count
    if swan_port != 4500:
        return  # loopback mode: charon's decrypted packets are martians, nothing comes back
    replies = ours.wait("ESP replies from charon", lambda: [e for e in list(ours.esp_in)
                                                            if int.from_bytes(e[4][:4], "big") == child.spi_in])
    inner = open_esp(child, replies[0][4], str(replies[0][0]), replies[0][1], str(replies[0][2]), replies[0][3])
    from scapy.layers.inet import ICMP, IP

    assert inner[IP].src == SWAN_HOST and inner[IP].dst == OUR_HOST and inner[ICMP].type == 0


def _check_established(ours: DaemonThread, charon: Charon, swan_port: int = 4500):
    """The three checks of an established tunnel (both sides agree, charon logged our keys, charon accepts our
    ESP); returns our ChildSa and the IKE keys for ``_check_tshark``, after the capture caught up."""
    child = _check_sas(ours, charon)
    _check_keys(child, charon)
    _check_esp(ours, charon, child, swan_port=swan_port)
    keys = ours.ike_keys()
    time.sleep(0.3)  # the last packets reach the capture file
    return child, keys


def _check_tshark(cap: Capture, ike_keys, children, udpencap_ports=(), min_ike=4):
    results = decrypt_pcap(cap.path, ike_keys=ike_keys, esp_keys=[k for c in children for k in esp_keys(c)],
                           udpencap_ports=udpencap_ports)
    summary = summarize(results)
    assert summary.ike_encrypted >= min_ike - 2 and summary.ike >= min_ike, summary
    assert summary.ike_incorrect == 0 and summary.ike_undecrypted == 0, summary
    assert summary.ike_correct == summary.ike_encrypted, summary
    assert summary.esp_bad == 0 and summary.esp_good >= 1, summary
    return results


def _capture(topo, workdir, name="wan.pcap") -> Capture:
    return Capture(workdir / name, netns=topo.left.name, interface=topo.veth.a_if, bpf="udp")


# ------------------------------------------------------------------------------------------- scenarios
def test_interop_initiator_psk_modp2048(topo, workdir, charon, ours):
    swan_ike, our_ike = IKE_MODP
    charon.load(_swan_conn(swan_ike))
    with _capture(topo, workdir) as cap:
        ours.apply(_our_intent(our_ike))
        child, keys = _check_established(ours, charon)
    (sa,) = charon.list_sas()
    assert (sa.encr_alg, sa.integ_alg, sa.prf_alg, sa.dh_group) == ("AES_CBC", "HMAC_SHA2_256_128",
                                                                     "PRF_HMAC_SHA2_256", "MODP_2048")
    assert not sa.initiator and sa.nat_any
    results = _check_tshark(cap, keys, [child])
    assert all(r.non_esp_marker for r in results if r.kind == "ike" and r.dport == 4500)


def test_interop_responder_psk_gcm_ecp384(topo, workdir, charon, ours):
    swan_ike, our_ike = IKE_GCM
    ours.apply(_our_intent(our_ike, establish="responder-only"))
    charon.load(_swan_conn(swan_ike, initiator=True))
    with _capture(topo, workdir) as cap:
        charon.initiate()
        child, keys = _check_established(ours, charon)
    (sa,) = charon.list_sas()
    assert sa.initiator and (sa.encr_alg, sa.prf_alg, sa.dh_group) == ("AES_GCM_16", "PRF_HMAC_SHA2_384", "ECP_384")
    snap = ours.call(lambda: ours.daemon.ike_sa_snapshots())[0]
    assert snap.role == "responder" and snap.encryption_algorithm == "aes256-gcm" and snap.dh_group == 20
    _check_tshark(cap, keys, [child])


@pytest.mark.parametrize("kind,we_initiate", [("rsa", True), ("ecdsa", False)])
def test_interop_certificates(topo, workdir, charon, ours, kind, we_initiate):
    ca = TestCa(kind)
    swan_bundle, our_bundle = ca.issue(SWAN), ca.issue(OURS)
    cert = LocalCertificate("ours", our_bundle.cert_pem, our_bundle.key_pem)
    method = "rsa-signatures" if kind == "rsa" else "ecdsa-signatures-256"
    intent = _our_intent(ike_proposal("aes-256-cbc", "sha-256", "group14", method=method), cert=cert,
                         ca_pem=our_bundle.ca_pems[0], local_id=IkeIdentity("inet", OURS),
                         remote_id=IkeIdentity("inet", SWAN),
                         establish="immediately" if we_initiate else "responder-only")
    assert intent.ca_profiles["ca"] == CaProfile("ca", "ca", our_bundle.ca_pems[0])
    with _capture(topo, workdir) as cap:
        if we_initiate:
            charon.load(_swan_conn(IKE_MODP[0], auth="pubkey", cert=swan_bundle))
            ours.apply(intent)
        else:
            ours.apply(intent)
            charon.load(_swan_conn(IKE_MODP[0], auth="pubkey", cert=swan_bundle, initiator=True))
            charon.initiate()
        child, keys = _check_established(ours, charon)
    (sa,) = ours.ike_sas()
    assert sa.peer_cert is not None and sa.remote_id.display() == SWAN
    # charon announced SIGNATURE_HASH_ALGORITHMS: both used RFC 7427 signatures
    assert sa.local_auth_method == sa.remote_auth_method == 14
    _check_tshark(cap, keys, [child])


def test_interop_pfs_child_rekey_from_both_sides(topo, workdir, charon, ours):
    charon.load(_swan_conn(IKE_MODP[0], esp="aes256gcm16-ecp256"))
    with _capture(topo, workdir) as cap:
        ours.apply(_our_intent(IKE_MODP[1], pfs="group19"))
        first = _check_sas(ours, charon)
        _check_keys(first, charon)
        # we rekey (CREATE_CHILD_SA with KE, PFS group 19)
        assert ours.call(lambda: ours.daemon.rekey_child_sa(first.spi_in))
        (second,) = ours.wait_children(1, exclude=(first.spi_in,))
        ours.wait("old child deleted", lambda: first.spi_in not in [c.spi_in for c in ours.installed()])
        _check_keys(second, charon)
        _check_esp(ours, charon, second)
        # charon rekeys
        charon.rekey_child("net")
        (third,) = ours.wait_children(1, exclude=(first.spi_in, second.spi_in))
        ours.wait("old child deleted", lambda: second.spi_in not in [c.spi_in for c in ours.installed()])
        _check_keys(third, charon)
        _check_esp(ours, charon, third)
        keys = ours.ike_keys()
        time.sleep(0.3)
    assert len(charon.child_sas()) == 1
    snap = ours.call(lambda: ours.daemon.child_sa_snapshots())
    assert [(s.pfs_group, s.rekeys) for s in snap] == [(19, 2)]
    assert "CREATE_CHILD_SA request" in charon.log_text() and "KE" in charon.log_text()
    _check_tshark(cap, keys, [first, second, third], min_ike=8)


def test_interop_ike_rekey_from_both_sides(topo, workdir, charon, ours):
    charon.load(_swan_conn(IKE_GCM[0]))
    keys = []
    with _capture(topo, workdir) as cap:
        ours.apply(_our_intent(IKE_GCM[1]))
        child = _check_sas(ours, charon)
        (sa0,) = ours.ike_sas()
        keys += ours.ike_keys()
        assert ours.call(lambda: ours.daemon.rekey_ike_sa(sa0.index))
        sa1 = ours.wait("our rekeyed IKE SA", lambda: next((s for s in ours.ike_sas() if s is not sa0
                                                             and s.predecessor is sa0), None))
        keys += ours.ike_keys()
        charon.wait_until("charon to drop the old IKE SA", lambda: [s for s in charon.list_sas()
                                                                    if s.spi_i == int.from_bytes(sa1.spi_i, "big")]
                          if len(charon.list_sas()) == 1 else None)
        charon.rekey_ike()
        sa2 = ours.wait("charon's IKE rekey", lambda: next((s for s in ours.ike_sas() if s.predecessor is sa1),
                                                           None))
        keys += ours.ike_keys()
        ours.wait("old IKE SA gone", lambda: len(ours.ike_sas()) == 1)
        assert not sa2.initiator  # charon initiated this rekey, so it is the new SA's initiator
        # the child SA survived both rekeys and still carries traffic
        assert [c.spi_in for c in ours.installed()] == [child.spi_in]
        _check_keys(child, charon)
        _check_esp(ours, charon, child)
        keys += ours.ike_keys()
        time.sleep(0.3)
    (swan_sa,) = charon.list_sas()
    assert (swan_sa.spi_i, swan_sa.spi_r) == (int.from_bytes(sa2.spi_i, "big"), int.from_bytes(sa2.spi_r, "big"))
    _check_tshark(cap, keys, [child], min_ike=8)


def test_interop_dpd_both_ways_and_dead_peer(topo, workdir, charon, ours):
    charon.load(_swan_conn(IKE_MODP[0], dpd_delay=1))
    with _capture(topo, workdir) as cap:
        ours.apply(_our_intent(IKE_MODP[1], dpd=DeadPeerDetection("always-send", interval=1, threshold=2)))
        child = _check_sas(ours, charon)
        _check_keys(child, charon)
        (sa,) = ours.ike_sas()
        ours.wait("DPD both ways", lambda: sa.counters.dpd_received >= 2 and sa.counters.dpd_responses_received >= 2,
                  timeout=10)
        charon.wait_for_log(r"parsed INFORMATIONAL request \d+ \[ \]", count=2)
        _check_esp(ours, charon, child)
        keys = ours.ike_keys()
        time.sleep(0.3)
    _check_tshark(cap, keys, [child])
    # charon dies without a word: our DPD declares the peer dead and deletes the SAs
    os.kill(charon.pid, signal.SIGKILL)
    ours.wait("dead peer detected", lambda: not ours.installed(), timeout=15)
    downs = [e for e in ours.events if type(e).__name__ == "IkeSaStateChanged" and e.state == "down"]
    assert downs and downs[0].reason == "dead peer"


def test_interop_nat_t_custom_ports(workdir):
    """Loopback namespace, custom ports (charon 15500/15501, ours 16500/16501): the marker on every IKE packet."""
    with netns.Netns.create(_prefix("n")) as ns:
        charon = Charon(workdir, "lo", netns=ns.name, settings=loopback_settings(15500, 15501)).start()
        ours = DaemonThread(EngineOptions(device_name="ours", ike_port=16500, natt_port=16501,
                                          remote_ike_port=15500, remote_natt_port=15501, retransmit_timeout=1.0),
                            bind_addresses=[addr("127.0.0.2")],
                            socket_factory=lambda family: ns.socket(family, socket.SOCK_DGRAM))
        try:
            charon.load(Connection(local_addrs=("127.0.0.1",), proposals=(IKE_GCM[0],), psk=PSK,
                                   children=(Child(local_ts=("127.0.0.1/32",), remote_ts=("127.0.0.2/32",)),)))
            with Capture(workdir / "lo.pcap", netns=ns.name, interface="lo", bpf="udp") as cap:
                ours.apply(make_intent("127.0.0.2", "127.0.0.1", psk=PSK.encode(), ike=IKE_GCM[1],
                                       esp=esp_proposal("aes-256-gcm"), remote_id=IkeIdentity("inet", "127.0.0.1"),
                                       ts=[("127.0.0.2/32", "127.0.0.1/32")]))
                child, keys = _check_established(ours, charon, swan_port=15501)
                assert (child.encap.source_port, child.encap.destination_port) == (16501, 15501)
            (sa,) = charon.list_sas()
            assert (sa.local_port, sa.remote_port) == (15501, 16501) and sa.nat_any
            results = _check_tshark(cap, keys, [child], udpencap_ports=(15500, 15501, 16500, 16501))
            ike = [r for r in results if r.kind == "ike"]
            assert ike and all(r.non_esp_marker for r in ike)
        finally:
            ours.stop()
            charon.stop()


def test_interop_reauthentication_make_before_break(topo, workdir, charon, ours):
    charon.load(_swan_conn(IKE_MODP[0]))
    with _capture(topo, workdir) as cap:
        ours.apply(_our_intent(IKE_MODP[1], reauth=1))
        first = _check_sas(ours, charon)
        keys = ours.ike_keys()
        (sa0,) = ours.ike_sas()
        assert ours.call(lambda: ours.daemon.rekey_ike_sa(sa0.index))  # reauth-frequency 1: reauthenticates
        (second,) = ours.wait_children(1, exclude=(first.spi_in,))
        ours.wait("old IKE SA deleted", lambda: sa0.state == "DESTROYED" and len(ours.ike_sas()) == 1)
        ours.wait("old child deleted", lambda: [c.spi_in for c in ours.installed()] == [second.spi_in])
        keys += ours.ike_keys()
        # the new child was installed before the old one went away, and says which one it replaces
        installs = [e for e in ours.events if type(e).__name__ == "ChildSaInstalled"]
        assert installs[-1].sa.spi_in == second.spi_in and installs[-1].replaces_spi_in == first.spi_in
        _check_keys(second, charon)
        _check_esp(ours, charon, second)
        time.sleep(0.3)
    (sa1,) = ours.ike_sas()
    assert sa1 is not sa0 and sa1.rekeys_since_auth == 0
    (swan_sa,) = charon.list_sas()
    assert (swan_sa.spi_i, swan_sa.spi_r) == (int.from_bytes(sa1.spi_i, "big"), int.from_bytes(sa1.spi_r, "big"))
    # two IKE_SA_INITs on the wire: a full new IKE SA, not a CREATE_CHILD_SA rekey
    results = _check_tshark(cap, keys, [first, second], min_ike=8)
    assert sum(1 for r in results if r.ike_exchange == "IKE_SA_INIT" and not r.ike_response) == 2
