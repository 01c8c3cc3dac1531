"""One apply path between two devices: commit, rollback and an expired confirmed commit all reach the IKE
daemon and the PFE. A changed VPN renegotiates, the others keep their SPIs; a deleted VPN's SAs disappear on
the peer too (DELETE); rollback brings it back; an unconfirmed commit is undone by itself."""

from __future__ import annotations

import time

import pytest
from device_testlib import Vpn, ike_sas, ipsec_sas, peer_config, settled, wait_for
from lxml import etree

VPNS = [Vpn(1), Vpn(2), Vpn(3)]


def _load(m, *lines: str) -> None:
    m.load_configuration(action="set", format="text", config=list(lines))


def _all_up(m1, m2, indexes) -> bool:
    a, b = ipsec_sas(m1), ipsec_sas(m2)
    return all(len(a.get(i, ())) == 2 and len(b.get(i, ())) == 2 for i in indexes)


def _brief_algorithm(m, index: int) -> str:
    reply = m.command(f"show security ipsec security-associations index {index} brief", format="xml")
    return reply.xpath("//sa-esp-encryption-algorithm")[0].text


@pytest.mark.slow
def test_device_commit_rollback_and_confirmed_commit_expiry_share_one_apply_path(pairs):
    pair = pairs.start(VPNS)
    with pair.peer1.connect() as m1, pair.peer2.connect() as m2:
        wait_for(lambda: _all_up(m1, m2, (500001, 500002, 500003)) and settled(m1, m2, 3), timeout=20,
                 what="three tunnels up and no negotiation in flight")
        before1, before2 = ipsec_sas(m1), ipsec_sas(m2)

        # --- change VPN 2 on both ends (ESP AES-128-GCM): it renegotiates, 1 and 3 keep their SPIs
        for m in (m2, m1):
            _load(m, "set security ipsec proposal esp2 encryption-algorithm aes-128-gcm")
            m.commit()
        wait_for(lambda: _all_up(m1, m2, (500002,)) and _brief_algorithm(m1, 500002) == "aes-gcm-128"
                 and _brief_algorithm(m2, 500002) == "aes-gcm-128", what="VPN 2 renegotiated with AES-128-GCM")
        after1, after2 = ipsec_sas(m1), ipsec_sas(m2)
        for index in (500001, 500003):
            assert after1[index] == before1[index] and after2[index] == before2[index]
        assert not set(after1[500002]) & set(before1[500002])
        assert not set(after2[500002]) & set(before2[500002])

        # --- delete VPN 3 on peer1: its SAs go on peer1, and peer2 gets the DELETE
        _load(m1, "delete security ipsec vpn vpn3")
        m1.commit()
        assert 500003 not in ipsec_sas(m1)  # the commit answered after the PFE dropped them
        wait_for(lambda: 500003 not in ipsec_sas(m2), timeout=5, what="peer2 to drop VPN 3's SAs")
        time.sleep(1.0)
        assert 500003 not in ipsec_sas(m2)  # peer2 may try again, but peer1 has no such VPN any more
        assert set(ipsec_sas(m1)) == {500001, 500002}

        # --- rollback 1 brings VPN 3 back through the same path
        m1.rpc(etree.fromstring('<load-configuration rollback="1"/>'))
        m1.commit()
        wait_for(lambda: _all_up(m1, m2, (500003,)), what="VPN 3 back after the rollback")

        # --- a confirmed commit that removes VPN 1 and is never confirmed: removed, then restored
        kept = ipsec_sas(m1)[500002]
        _load(m1, "delete security ipsec vpn vpn1")
        # RFC 6241 <commit> (timeout in seconds; PyEZ/ncclient's Junos commit-configuration counts minutes)
        m1.rpc(etree.fromstring("<commit><confirmed/><confirm-timeout>3</confirm-timeout></commit>"))
        wait_for(lambda: 500001 not in ipsec_sas(m2), timeout=5, what="VPN 1 gone on the peer")
        wait_for(lambda: _all_up(m1, m2, (500001,)), timeout=20,
                 what="VPN 1 back after the confirmed commit expired")
        history = m1.command("show system commit", format="xml")
        assert "rollback of commit confirmed" in history.tostring.decode()
        assert ipsec_sas(m1)[500002] == kept  # untouched through all of it


def test_device_commit_answers_before_negotiation_finishes(pairs):
    """The commit returns once the configuration is validated and applied: a VPN towards a peer that never
    answers is being negotiated (IKE SA DOWN, tunnel inactive) when the commit has already answered, and the
    established tunnel is untouched."""
    pair = pairs.start([Vpn(1)])
    with pair.peer1.connect() as m1:
        wait_for(lambda: 500001 in ipsec_sas(m1), what="tunnel 1 up")
        before = ipsec_sas(m1)[500001]
        # VPN 4 towards 16.1.4.2, an address nobody on the WAN link has: its negotiation cannot finish
        lines = [line for line in peer_config(1, [Vpn(4)]).splitlines() if line.startswith("set ")]
        _load(m1, *lines)
        m1.commit()
        sas = {sa["ike-sa-remote-address"]: sa["ike-sa-state"] for sa in ike_sas(m1)}
        assert sas.get("16.1.4.2") == "DOWN", sas  # negotiating: the commit did not wait for it
        inactive = m1.command("show security ipsec inactive-tunnels", format="xml")
        assert [t.text for t in inactive.xpath("//sa-tunnel-index")] == ["500004"]
        assert ipsec_sas(m1)[500001] == before
