"""ncclient (junos and default device handlers) against a real `netconf-device serve` (issue item 9).

get-config (subtree and xpath filters), edit-config (merge/replace/create/delete/remove, default-operation,
test-option), commit, confirmed commit expiring and cancel-commit, locks between two sessions (lock-denied
names the holder), kill-session, discard-changes, copy-config, validate, get-schema, Junos operations.
"""

from __future__ import annotations

import time

import asyncssh
import ncclient.transport.session
import pytest
from lxml import etree
from ncclient import manager
from ncclient.operations import RPCError

ncclient.transport.session.TICK = 0.001  # ncclient polls its queue every TICK seconds (stack-notes)


def connect(device, handler="default", user="admin", password="admin123", **kw):
    params = dict(host="127.0.0.1", port=device.port, username=user, password=password, hostkey_verify=False,
                  look_for_keys=False, allow_agent=False, timeout=30, device_params={"name": handler})
    params.update(kw)
    return manager.connect(**params)


def host_name(m, source="running") -> str:
    reply = m.get_config(source=source, filter=("subtree", "<configuration><system><host-name/></system></configuration>"))
    return reply.data_ele.findtext(".//{*}host-name")


def test_get_config_subtree_and_xpath_filters(device):
    with connect(device) as m:
        assert m.server_capabilities  # hello parsed
        assert host_name(m) == "peer1"
        reply = m.get_config(source="running", filter=("xpath", "/configuration/security/ike/gateway/address"))
        data = reply.data_ele
        assert data.findtext(".//{*}gateway/{*}name") == "ike_gw"
        assert data.findtext(".//{*}gateway/{*}address") == "16.1.1.2"
        assert data.find(".//{*}interfaces") is None
        # nested selections are not repeated, list entries keep their key
        routes = m.get_config(source="running", filter=("xpath", "/configuration/routing-options//*")).data_ele
        shape = [(etree.QName(e).localname, (e.text or "").strip()) for e in routes.find("{*}configuration").iter()]
        assert shape == [("configuration", ""), ("routing-options", ""), ("static", ""), ("route", ""),
                         ("name", "2.2.2.0/24"), ("next-hop", "st0.1")]


def test_edit_config_operations_validate_and_commit(device):
    with connect(device) as m:
        m.lock(target="candidate")
        m.edit_config(target="candidate", config="""<config><configuration><system>
            <host-name>edited</host-name><domain-name>example.net</domain-name></system></configuration></config>""")
        assert host_name(m, "candidate") == "edited"
        assert host_name(m, "running") == "peer1"
        # create on an existing leaf: data-exists; nothing changes
        with pytest.raises(RPCError) as info:
            m.edit_config(target="candidate", config="""<config xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0">
                <configuration><system><host-name nc:operation="create">x</host-name></system></configuration></config>""")
        assert info.value.tag == "data-exists" and host_name(m, "candidate") == "edited"
        # delete of something absent: data-missing error; remove of something absent: fine
        with pytest.raises(RPCError, match="statement not found"):
            m.edit_config(target="candidate", config="""<config xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0">
                <configuration><interfaces><interface nc:operation="delete"><name>xe-9/9/9</name></interface>
                </interfaces></configuration></config>""")
        m.edit_config(target="candidate", config="""<config xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0">
            <configuration><system><domain-name nc:operation="remove"/></system></configuration></config>""")
        # test-only: a dangling reference is refused and not applied
        with pytest.raises(RPCError):
            m.edit_config(target="candidate", test_option="test-only", config="""<config><configuration>
                <security><ipsec><vpn><name>v2</name><bind-interface>st0.2</bind-interface><ike>
                <gateway>nope</gateway><ipsec-policy>ipsec_policy</ipsec-policy></ike></vpn></ipsec></security>
                </configuration></config>""")
        m.validate(source="candidate")
        m.commit()
        m.unlock(target="candidate")
        assert host_name(m) == "edited"
        running = m.get_config(source="running").data_ele
        assert running.find(".//{*}system/{*}domain-name") is None
        # replace as default-operation on a subtree, then put the host name back
        m.edit_config(target="candidate", default_operation="merge",
                      config="<config><configuration><system><host-name>peer1</host-name></system></configuration></config>")
        m.commit()
        assert host_name(m) == "peer1"


def test_confirmed_commit_expires_and_cancel_commit(device):
    with connect(device) as m:
        m.edit_config(target="candidate",
                      config="<config><configuration><system><host-name>tentative</host-name></system></configuration></config>")
        m.commit(confirmed=True, timeout="2")
        assert host_name(m) == "tentative"
        deadline = time.monotonic() + 10
        while host_name(m) != "peer1" and time.monotonic() < deadline:
            time.sleep(0.3)
        assert host_name(m) == "peer1", "unconfirmed commit rolled back by the device's timer"
        m.edit_config(target="candidate",
                      config="<config><configuration><system><host-name>cancelled</host-name></system></configuration></config>")
        m.commit(confirmed=True, timeout="60", persist="token-1")
        assert host_name(m) == "cancelled"
        m.cancel_commit(persist_id="token-1")
        assert host_name(m) == "peer1"
        m.edit_config(target="candidate",
                      config="<config><configuration><system><host-name>kept</host-name></system></configuration></config>")
        m.commit(confirmed=True, timeout="60")
        m.commit()  # confirming commit
        time.sleep(0.2)
        assert host_name(m) == "kept"
        m.edit_config(target="candidate",
                      config="<config><configuration><system><host-name>peer1</host-name></system></configuration></config>")
        m.commit()


def test_locks_between_two_sessions_and_kill_session(device):
    a = connect(device)
    b = connect(device, handler="junos")
    try:
        a.lock(target="candidate")
        with pytest.raises(RPCError) as info:
            b.lock(target="candidate")
        assert info.value.tag == "lock-denied"
        assert f"<session-id>{a.session_id}</session-id>" in etree.tostring(info.value.xml).decode().replace("nc:", "")
        assert "configuration database locked by" in info.value.message
        with pytest.raises(RPCError):
            b.load_configuration(action="set", format="text", config=["set interfaces lo0 description b1"])
        b.kill_session(a.session_id)
        deadline = time.monotonic() + 5
        while a.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not a.connected
        b.lock(target="candidate")  # the killed session's lock is gone
        b.unlock(target="candidate")
    finally:
        b.close_session()
        if a.connected:
            a.close_session()


def test_discard_copy_config_delete_config_and_get_schema(device):
    with connect(device) as m:
        m.edit_config(target="candidate",
                      config="<config><configuration><system><host-name>to-discard</host-name></system></configuration></config>")
        m.discard_changes()
        assert host_name(m, "candidate") == "peer1"
        running = m.get_config(source="running").data_ele.find("{*}configuration")
        m.copy_config(source="running", target="candidate")
        assert host_name(m, "candidate") == "peer1"
        with pytest.raises(RPCError):
            m.delete_config(target="running")
        schemas = m.get(filter=("subtree", '<netconf-state xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring">'
                                           "<schemas/></netconf-state>")).data_ele
        listed = {e.findtext("{*}identifier"): e.findtext("{*}version") for e in schemas.iter("{*}schema")}
        from ndnc_support import REPO

        on_disk = {p.stem: p.read_text() for p in (REPO / "yang").glob("*.yang")}
        assert set(listed) == set(on_disk), "netconf-monitoring lists every module of yang/"
        for name, revision in listed.items():  # get-schema of each returns the module's own text
            reply = m.get_schema(name, revision)
            assert reply.data.strip() == on_disk[name].strip()
        with pytest.raises(RPCError):
            m.get_schema("ietf-interfaces")
        assert running is not None


def test_junos_handler_operations(device):
    with connect(device, handler="junos") as m:
        text = m.command("show version", format="text")
        assert "Model: mx304" in str(text)
        xml = m.command("show chassis hardware", format="xml")
        assert xml.xpath("//chassis-inventory/chassis/serial-number")
        m.lock()
        m.load_configuration(action="set", format="text", config=["set interfaces lo0 description b7"])
        diff = m.compare_configuration()
        assert "description b7" in str(diff)
        m.commit()  # junos Commit -> <commit-configuration>
        cfg = m.get_configuration(format="text")
        assert "description b7" in str(cfg)
        m.rollback(1)
        m.commit()
        m.unlock()
        cfg = m.get_configuration(format="set")
        assert "description b7" not in str(cfg)


def test_unknown_key_falls_back_to_password_and_configured_key_logs_in(device, tmp_path):
    stranger = asyncssh.generate_private_key("ssh-ed25519")
    stranger_path = tmp_path / "id_stranger"
    stranger.write_private_key(str(stranger_path))
    known = asyncssh.generate_private_key("ssh-ed25519")
    known_path = tmp_path / "id_known"
    known.write_private_key(str(known_path))
    public = known.export_public_key().decode().strip()
    with connect(device, handler="junos") as m:
        m.load_configuration(action="set", format="text", config=[
            "set system login user keyed uid 2100", "set system login user keyed class operator",
            f'set system login user keyed authentication ssh-ed25519 "{public}"'])
        m.commit()
    with connect(device, key_filename=str(stranger_path), look_for_keys=False) as m:  # key refused -> password
        assert host_name(m) == "peer1"
    with connect(device, user="keyed", password=None, key_filename=str(known_path)) as m:
        assert m.session_id
    from ncclient.transport.errors import AuthenticationError

    with pytest.raises(AuthenticationError):
        connect(device, user="keyed", password=None, key_filename=str(stranger_path))


def test_edit_config_default_operation_replace_and_none(device):
    with connect(device) as m:
        try:
            # replace: the <config> becomes the whole candidate (RFC 6241 7.2; Junos "replace the candidate")
            m.edit_config(target="candidate", default_operation="replace",
                          config="<config><configuration><system><host-name>only</host-name></system>"
                                 "</configuration></config>")
            candidate = m.get_config(source="candidate").data_ele.find("{*}configuration")
            assert [etree.QName(c).localname for c in candidate] == ["system"]
            m.discard_changes()
            # none: plain elements only select; the statement with an operation is the only change
            m.edit_config(target="candidate", default_operation="none", config="""<config
                xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0"><configuration><system><host-name>ignored</host-name></system><routing-options><static><route nc:operation="delete"><name>2.2.2.0/24</name>
                </route></static></routing-options></configuration></config>""")
            assert host_name(m, "candidate") == "peer1"
            routes = m.get_config(source="candidate", filter=(
                "subtree", "<configuration><routing-options/></configuration>")).data_ele
            assert routes.find(".//{*}route") is None
            # Junos' own name for continue-on-error is accepted
            m.dispatch(etree.fromstring("<edit-config><target><candidate/></target><error-option>ignore-error"
                                        "</error-option><config><configuration><system><host-name>ign"
                                        "</host-name></system></configuration></config></edit-config>"))
            assert host_name(m, "candidate") == "ign"
        finally:
            m.discard_changes()


def test_error_options(device):
    edit = """<config><configuration><system><host-name>partly</host-name><bogus-statement/></system>
        <interfaces><interface><name>lo0</name><mtu>99999999</mtu><description>kept</description></interface>
        </interfaces></configuration></config>"""
    with connect(device) as m:
        try:
            for option in ("stop-on-error", "rollback-on-error"):  # a refused edit changes nothing
                with pytest.raises(RPCError):
                    m.edit_config(target="candidate", error_option=option, config=edit)
                assert host_name(m, "candidate") == "peer1"
            # continue-on-error: everything that loads is applied, every refused statement is reported
            with pytest.raises(RPCError) as info:
                m.edit_config(target="candidate", error_option="continue-on-error", config=edit)
            reported = sorted((e.path, e.message) for e in info.value.errors)
            assert reported == [("[edit interfaces lo0]", "value 99999999 is not within range (256..9192)"),
                                ("[edit system]", "syntax error")]
            assert host_name(m, "candidate") == "partly"
            lo0 = m.get_config(source="candidate", filter=("subtree", "<configuration><interfaces><interface>"
                                                                      "<name>lo0</name></interface></interfaces>"
                                                                      "</configuration>")).data_ele
            assert lo0.findtext(".//{*}description") == "kept" and lo0.find(".//{*}mtu") is None
        finally:
            m.discard_changes()


def test_persistent_confirmed_commit_outlives_its_session_and_is_confirmed_by_persist_id(device):
    a = connect(device)
    a.edit_config(target="candidate", config="<config><configuration><system><host-name>persisted</host-name>"
                                             "</system></configuration></config>")
    a.commit(confirmed=True, timeout="60", persist="keep-me")
    a.close_session()  # a persistent confirmed commit survives the end of its session
    with connect(device) as b:
        assert host_name(b) == "persisted"
        with pytest.raises(RPCError):
            b.commit(persist_id="wrong-token")
        b.commit(persist_id="keep-me")  # confirms it
        time.sleep(0.2)
        assert host_name(b) == "persisted"
        with pytest.raises(RPCError):
            b.cancel_commit(persist_id="keep-me")  # nothing pending any more
        b.edit_config(target="candidate", config="<config><configuration><system><host-name>peer1</host-name>"
                                                 "</system></configuration></config>")
        b.commit()
