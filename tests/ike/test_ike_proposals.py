"""Every proposal of the seed's table 1 between two engines; proposal mismatches; INVALID_KE_PAYLOAD; COOKIE."""

from __future__ import annotations

import pytest
from ike_harness import assert_tunnel_pairs, esp_proposal, ike_proposal, installed, pair, symmetric

from netconf_device import sa as contract
from netconf_device.ike import message as m
from netconf_device.ike import proposals
from netconf_device.ike.options import EngineOptions

CBC = ["aes-128-cbc", "aes-192-cbc", "aes-256-cbc", "3des-cbc", "des-cbc"]
AUTH = ["md5", "sha1", "sha-256", "sha-384", "sha-512"]
# AES-GCM carries no integrity transform; a configured authentication algorithm names its PRF
IKE_TABLE = [(e, a) for e in CBC for a in AUTH] + [(e, a) for e in ("aes-128-gcm", "aes-256-gcm")
                                                    for a in (None, *AUTH)] + [("chacha20-poly1305", None)]
ENCR_NAME = {"aes-128-cbc": "aes128-cbc", "aes-192-cbc": "aes192-cbc", "aes-256-cbc": "aes256-cbc",
             "3des-cbc": "3des-cbc", "des-cbc": "des-cbc", "aes-128-gcm": "aes128-gcm",
             "aes-256-gcm": "aes256-gcm", "chacha20-poly1305": "chacha20-poly1305"}
INTEG_NAME = {"md5": "hmac-md5-96", "sha1": "hmac-sha1-96", "sha-256": "hmac-sha256-128",
              "sha-384": "hmac-sha384-192", "sha-512": "hmac-sha512-256", None: "none"}


@pytest.mark.parametrize("encr,auth", IKE_TABLE, ids=[f"{e}-{a}" for e, a in IKE_TABLE])
def test_ike_proposal_table(encr, auth):
    a, b = symmetric(ike=ike_proposal(encr, auth, "group19"))
    net, ea, eb = pair(a, b)
    pairs = assert_tunnel_pairs(net)
    assert len(pairs) == 1
    for eng in (ea, eb):
        (snap,) = eng.ike_sa_snapshots()
        assert snap.state == "UP"
        assert snap.encryption_algorithm == ENCR_NAME[encr]
        assert snap.integrity_algorithm == (INTEG_NAME[auth] if "cbc" in encr else "none")
        if "gcm" in encr:
            expected_prf = {None: "hmac-sha256" if encr == "aes-128-gcm" else "hmac-sha384", "md5": "hmac-md5",
                            "sha1": "hmac-sha1", "sha-256": "hmac-sha256", "sha-384": "hmac-sha384",
                            "sha-512": "hmac-sha512"}[auth]
            assert snap.prf_algorithm == expected_prf
        assert snap.dh_group == 19
    # both directions of the IKE SA carry traffic: a DPD-style empty INFORMATIONAL is answered
    (sa_a,) = ea.sas.values()
    from netconf_device.ike.tasks.ike_dpd import IkeDpd

    ea._queue(sa_a, IkeDpd(ea))
    net.settle()
    assert sa_a.counters.dpd_responses_received == 1


@pytest.mark.parametrize("esp", ["aes-128-gcm", "aes-256-gcm"])
@pytest.mark.parametrize("ike", ["aes-256-cbc", "aes-256-gcm"])
def test_esp_proposals(esp, ike):
    a, b = symmetric(ike=ike_proposal(ike, "sha-256" if "cbc" in ike else None, "group19"),
                     esp=esp_proposal(esp))
    net, ea, eb = pair(a, b)
    ((x, y),) = assert_tunnel_pairs(net)
    assert x.encryption_algorithm == esp
    assert len(x.key_in) == (16 if esp == "aes-128-gcm" else 32) + 4  # key || salt
    assert x.icv_length == 16


@pytest.mark.parametrize("group", ["group1", "group2", "group5", "group14", "group15", "group16", "group19",
                                   "group20", "group21", "group24", "group31"])
def test_dh_groups(group):
    a, b = symmetric(ike=ike_proposal("aes-256-cbc", "sha-256", group))
    net, ea, eb = pair(a, b)
    assert_tunnel_pairs(net)
    assert ea.ike_sa_snapshots()[0].dh_group == int(group[5:])


def test_ike_proposal_mismatch_is_no_proposal_chosen():
    a, b = symmetric(a_ike=ike_proposal("aes-256-cbc", "sha-256", "group14"),
                     b_ike=ike_proposal("aes-128-cbc", "sha1", "group14"))
    net, ea, eb = pair(a, b)
    assert installed(net, "a") == [] and installed(net, "b") == []
    assert ea.gateway_status("gw")["last_error"] == "NO_PROPOSAL_CHOSEN"
    assert "NO_PROPOSAL_CHOSEN" in eb.gateway_status("gw")["last_error"]
    # the responder answered without creating state
    assert eb.sas == {}
    responses = [d for _t, n, d in net.log if n == "b"]
    assert responses and all(m.decode_message(d.payload).notify(m.N_NO_PROPOSAL_CHOSEN) for d in responses)


def test_esp_proposal_mismatch_keeps_ike_sa_and_reports_no_proposal_chosen():
    a, b = symmetric(a_esp=esp_proposal("aes-256-gcm"), b_esp=esp_proposal("aes-128-gcm"))
    net, ea, eb = pair(a, b)
    assert [s.state for s in ea.ike_sa_snapshots()] == ["UP"]
    assert installed(net, "a") == [] and installed(net, "b") == []
    assert ea.gateway_status("gw")["vpns"]["vpn"]["last_error"] == "NO_PROPOSAL_CHOSEN"
    # the initiator retries later (backoff), not in a tight loop
    sent = len(net.log)
    net.advance(2.0)
    assert len(net.log) == sent


def test_first_matching_proposal_in_responders_order_and_gcm_prf():
    offers = [ike_proposal("aes-128-cbc", "sha1", "group14", name="p1"),
              ike_proposal("aes-256-gcm", None, "group20", name="p2")]
    a, b = symmetric(a_ike=offers, b_ike=[offers[1], offers[0]])
    net, ea, eb = pair(a, b)
    snap = eb.ike_sa_snapshots()[0]
    assert (snap.encryption_algorithm, snap.prf_algorithm, snap.dh_group) == ("aes256-gcm", "hmac-sha384", 20)


def test_invalid_ke_payload_retry():
    # the initiator prefers group 19, the responder only accepts group 14: one retry with group 14
    a, b = symmetric(a_ike=[ike_proposal("aes-256-cbc", "sha-256", "group19", name="x"),
                            ike_proposal("aes-256-cbc", "sha-256", "group14", name="y")],
                     b_ike=ike_proposal("aes-256-cbc", "sha-256", "group14"))
    net, ea, eb = pair(a, b)
    assert_tunnel_pairs(net)
    inits = [m.decode_message(d.payload) for _t, n, d in net.log if n == "b"
             and m.parse_header(d.payload)[3] == m.IKE_SA_INIT]
    assert inits[0].notify(m.N_INVALID_KE_PAYLOAD).data == (14).to_bytes(2, "big")
    assert ea.ike_sa_snapshots()[0].dh_group == 14


def test_cookie_when_half_open_sas_pass_the_bound():
    a, b = symmetric()
    net, ea, eb = pair(a, b, b_opts=EngineOptions(device_name="b", cookie_threshold=0), apply=True)
    assert_tunnel_pairs(net)
    assert eb.stats["cookies_sent"] == 1
    first = m.decode_message(next(d.payload for _t, n, d in net.log if n == "b"))
    cookie = first.notify(m.N_COOKIE).data
    retry = [m.decode_message(d.payload) for _t, n, d in net.log if n == "a"][1]
    assert retry.payloads[0].TYPE == m.PT_NOTIFY and retry.payloads[0].notify_type == m.N_COOKIE
    assert retry.payloads[0].data == cookie


def test_cookie_from_wrong_address_is_rejected():
    a, b = symmetric()
    net, ea, eb = pair(a, b, b_opts=EngineOptions(device_name="b", cookie_threshold=0), apply=False)
    nonce, spi = b"n" * 32, b"s" * 8
    good = eb.make_cookie(nonce, "192.0.2.1", spi)
    assert eb.cookie_matches(good, eb.make_cookie(nonce, "192.0.2.1", spi))
    assert not eb.cookie_matches(good, eb.make_cookie(nonce, "192.0.2.9", spi))


def test_esn_negotiation():
    a, b = symmetric(esn=True)
    net, *_ = pair(a, b)
    ((x, y),) = assert_tunnel_pairs(net)
    assert x.esn and y.esn
    a2, b2 = symmetric(a_esn=True, b_esn=False)
    net2, *_ = pair(a2, b2)
    ((x2, y2),) = assert_tunnel_pairs(net2)
    assert not x2.esn and not y2.esn


def test_short_gcm_icv_is_accepted_for_ike_but_not_for_esp():
    """AES-GCM with an 8- or 12-byte ICV: fine for IKE's own SK payloads; for ESP the PFE has only the 16-byte
    ICV of RFC 4106, so a child SA with a shorter one must not be negotiated (it could not be installed)."""
    ike12 = m.Proposal(1, m.PROTO_IKE, b"", [m.Transform(m.TT_ENCR, m.ENCR_AES_GCM_12, 256),
                                             m.Transform(m.TT_PRF, m.PRF_HMAC_SHA2_384), m.Transform(m.TT_DH, 19)])
    chosen = proposals.select([ike12], proposals.ike_proposals((ike_proposal("aes-256-gcm", None, "group19"),),
                                                               accept=True), m.PROTO_IKE)
    assert chosen is not None and chosen.first(m.TT_ENCR).id == m.ENCR_AES_GCM_12
    ours = proposals.esp_proposals((esp_proposal("aes-256-gcm"),), b"", None, False, accept=True)
    for short in (m.ENCR_AES_GCM_12, m.ENCR_AES_GCM_8):
        offer = [m.Proposal(1, m.PROTO_ESP, b"\0\0\0\1", [m.Transform(m.TT_ENCR, short, 256),
                                                          m.Transform(m.TT_ESN, m.ESN_NO)])]
        assert proposals.select(offer, ours, m.PROTO_ESP) is None
    both = [m.Proposal(1, m.PROTO_ESP, b"\0\0\0\1", [m.Transform(m.TT_ENCR, m.ENCR_AES_GCM_12, 256),
                                                     m.Transform(m.TT_ENCR, m.ENCR_AES_GCM_16, 256),
                                                     m.Transform(m.TT_ESN, m.ESN_NO)])]
    chosen = proposals.select(both, ours, m.PROTO_ESP)
    algs = proposals.EspAlgorithms.from_proposal(chosen)
    assert (algs.junos_name, algs.icv_length) == ("aes-256-gcm", 16)


def test_events_announce_ike_sa_up():
    a, b = symmetric()
    net, *_ = pair(a, b)
    for node in "ab":
        ups = net.events_of(node, contract.IkeSaStateChanged)
        assert [(e.gateway, e.state) for e in ups] == [("gw", "up")]


def test_failed_child_negotiations_do_not_leak_reserved_spis():
    a, b = symmetric(a_esp=esp_proposal("aes-256-gcm"), b_esp=esp_proposal("aes-128-gcm"))
    net, ea, eb = pair(a, b)
    net.advance(200)  # many retries with backoff
    assert ea.gateway_status("gw")["vpns"]["vpn"]["failures"] >= 3
    assert ea._reserved_spis == set() and eb._reserved_spis == set()
