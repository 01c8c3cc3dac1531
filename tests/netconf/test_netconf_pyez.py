"""Juniper PyEZ (junos-eznc) against a real `netconf-device serve` (issue items 6, 7, 9)."""

from __future__ import annotations

import ncclient.transport.session
import pytest
from jnpr.junos import Device
from jnpr.junos.exception import ConfigLoadError, LockError, PermissionError, RpcError
from jnpr.junos.utils.config import Config
from lxml import etree

from netconf_device.netconf.passwords import sha512_crypt

ncclient.transport.session.TICK = 0.001


def open_device(device, user="admin", password="admin123"):
    dev = Device(host="127.0.0.1", port=device.port, user=user, passwd=password, gather_facts=False)
    dev.open()
    return dev


def test_facts_are_fully_populated(device):
    dev = open_device(device)
    try:
        dev.facts_refresh(exception_on_failure=True)
        facts = dict(dev.facts)
    finally:
        dev.close()
    assert facts["hostname"] == "peer1"
    assert facts["model"] == "MX304"
    assert facts["version"] == "24.4R1.9"
    assert facts["serialnumber"] and facts["serialnumber"].startswith("VM")
    assert facts["personality"] == "MX"
    assert facts["RE0"]["model"] and facts["RE0"]["status"] == "OK"
    assert facts["master"] == "RE0"
    assert "re0" in facts["current_re"] and "master" in facts["current_re"]
    assert facts["vc_capable"] is False and facts["srx_cluster"] is None
    assert facts["switch_style"] == "BRIDGE_DOMAIN"
    assert facts["vmhost"] is False and facts["virtual"] is False
    assert facts["HOME"] == "/var/home/admin"
    assert facts["version_info"].major == (24, 4)


def test_config_load_diff_commit_check_rollback(device):
    dev = open_device(device)
    try:
        with Config(dev, mode="exclusive") as cu:
            cu.load("set interfaces lo0 description pyez-set", format="set")
            assert "description pyez-set" in cu.diff()
            assert cu.commit_check()
            assert cu.commit(comment="from pyez set")
            assert cu.diff() is None
            cu.load("interfaces { lo0 { description pyez-text; } }", format="text", merge=True)
            assert cu.commit(comment="from pyez text")
            xml = etree.fromstring("<configuration><interfaces><interface><name>lo0</name>"
                                   "<description>pyez-xml</description></interface></interfaces></configuration>")
            cu.load(xml, format="xml", merge=True)
            assert cu.commit(comment="from pyez xml")
            history = dev.rpc.get_commit_information()
            assert history.findtext("commit-history/log") == "from pyez xml"
            assert history.findtext("commit-history/user") == "admin"
            cu.rollback(1)
            assert "pyez-xml" in cu.diff()
            cu.commit(comment="rolled back")
            with pytest.raises(ConfigLoadError):
                cu.load("set system bogus-statement 1", format="set")
            # every bad statement of a text load comes back, each with its token
            with pytest.raises(ConfigLoadError) as info:
                cu.load("system1 { host-name x; }\ninterfaces { lo0 { frob 1; } }", format="text")
            assert [e["bad_element"] for e in info.value.errs] == ["system1", "}", "frob", ";"]
            assert {e["message"] for e in info.value.errs} == {"syntax error",
                                                               "error recovery ignores input until this point"}
            assert cu.diff() is None  # nothing was loaded
        cfg = dev.rpc.get_config(filter_xml="interfaces")
        assert cfg.findtext("interfaces/interface[name='lo0']/description") == "pyez-text"
        with Config(dev, mode="private") as cu:
            cu.load("set interfaces lo0 description private", format="set")
            cu.commit(comment="private")
        assert dev.rpc.get_config(filter_xml="interfaces").findtext("interfaces/interface[name='lo0']/description") == \
            "private"
    finally:
        dev.close()


def test_cli_text_xml_and_rpc_calls(device):
    dev = open_device(device)
    try:
        text = dev.cli("show version", warning=False)
        assert "Hostname: peer1" in text and "Model: mx304" in text
        xml = dev.cli("show interfaces terse", format="xml", warning=False)
        assert xml.tag == "interface-information"
        assert dev.display_xml_rpc("show interfaces terse st0.1").tag == "get-interface-information"
        terse = dev.rpc.get_interface_information(terse=True, interface_name="et-0/1/8")
        assert terse.findtext("physical-interface/logical-interface/address-family/interface-address/ifa-local") == \
            "1.1.1.1/24"
        private = dev.rpc.get_interface_information(routing_instance="__juniper_private1__", terse=True)
        assert "128.0.0.4/2" in [e.text for e in private.iter("ifa-local")]
        hosts = dev.rpc.file_show(filename="/etc/hosts.junos", normalize=False)
        assert "128.0.0.4" in hosts.text and "re0" in hosts.text
        count = dev.cli("show interfaces terse | count", warning=False)
        assert "Count:" in count
        sw = dev.rpc.get_software_information({"format": "json"})
        assert sw["software-information"][0]["product-model"][0]["data"] == "mx304"
        assert dev.rpc.get_system_memory_information().find(".//system-memory-total") is not None
        assert dev.rpc.get_system_storage().find("filesystem/filesystem-name") is not None
        with pytest.raises(RpcError):
            dev.rpc.get_virtual_chassis_information()
    finally:
        dev.close()


def test_read_only_and_operator_users_may_read_but_not_configure(device):
    admin = open_device(device)
    try:
        with Config(admin) as cu:
            cu.load("\n".join([
                "set system login user viewer uid 2200", "set system login user viewer class read-only",
                f'set system login user viewer authentication encrypted-password "{sha512_crypt("view-pw")}"',
                "set system login user oper uid 2201", "set system login user oper class operator",
                f'set system login user oper authentication encrypted-password "{sha512_crypt("oper-pw")}"',
            ]), format="set")
            cu.commit(comment="users")
    finally:
        admin.close()
    for user, password in (("viewer", "view-pw"), ("oper", "oper-pw")):
        dev = open_device(device, user, password)
        try:
            assert dev.rpc.get_software_information().findtext("host-name") == "peer1"
            assert "Hostname" in dev.cli("show version", warning=False)
            assert dev.rpc.get_config(filter_xml="system/host-name").findtext("system/host-name") == "peer1"
            cu = Config(dev)
            with pytest.raises(LockError) as locked:
                cu.lock()
            assert "permission denied" in str(locked.value)
            with pytest.raises(PermissionError):
                dev.rpc.lock_configuration()
            with pytest.raises((PermissionError, ConfigLoadError)) as info:
                cu.load("set interfaces lo0 description nope", format="set")
            assert "permission denied" in str(info.value)
            with pytest.raises(PermissionError):
                dev.rpc.commit_configuration()
        finally:
            dev.close()


def test_load_actions_errors_confirmed_commit_and_rescue(device):
    from jnpr.junos.exception import CommitError

    dev = open_device(device)
    try:
        with Config(dev, mode="exclusive") as cu:
            cu.load("interfaces { lo0 { description replaced; } }", format="text", merge=False)  # load replace
            assert "description replaced" in cu.diff()
            cu.rollback(0)
            cu.load('{"configuration": {"interfaces": {"interface": [{"name": "lo0", "description": "from-json"}]}}}',
                    format="json")
            assert "+   description from-json;" in cu.diff()
            cu.rollback(0)
            whole = dev.rpc.get_config(options={"format": "text"}).text
            cu.load(whole.replace("host-name peer1;", "host-name pyez-override;"), format="text", overwrite=True)
            assert cu.diff().strip().splitlines()[1:] == ["-   host-name peer1;", "+   host-name pyez-override;"]
            cu.rollback(0)
            assert cu.diff() is None
            # every error of one commit, with its [edit ...] path; commit and commit check both refuse
            cu.load("set security ipsec vpn v9 bind-interface st0.9\nset security ipsec vpn v9 ike gateway nope\n"
                    "set security ipsec vpn v9 ike ipsec-policy ipsec_policy", format="set")
            for attempt in (cu.commit, cu.commit_check):
                with pytest.raises(CommitError) as info:
                    attempt()
                paths = [e.get("edit_path") for e in info.value.errs]
                assert paths == ["[edit security ipsec vpn v9]", "[edit security ipsec vpn v9 ike]", None]
                assert "configuration check-out failed" in str(info.value)
            cu.rollback(0)
            # commit confirmed (minutes), confirmed by a later commit check
            cu.load("set interfaces lo0 description confirm-me", format="set")
            assert cu.commit(confirm=1, comment="try it")
            first = dev.cli("show system commit", warning=False).strip().splitlines()[0]
            assert first.endswith("via netconf commit confirmed, rollback in 1mins")
            assert cu.commit_check()
            # rescue: save, get (text and XML), reload as the candidate, delete
            assert cu.rescue("save")
            assert "description confirm-me;" in cu.rescue("get")
            assert cu.rescue("get", format="xml").findtext("configuration/interfaces/interface/description") \
                == "confirm-me"
            cu.load("set interfaces lo0 description not-rescue", format="set")
            assert cu.rescue("reload") is not False and cu.diff() is None
            assert cu.rescue("delete") and cu.rescue("get") is None
            # cli() with pipes
            assert dev.cli("show configuration interfaces lo0 | display set", warning=False).strip() == \
                "set interfaces lo0 description confirm-me"
            assert dev.cli("show configuration | match host-name", warning=False).strip() == "host-name peer1;"
            assert dev.cli("show configuration | compare rollback 0", warning=False).strip() == ""
            assert "+   description confirm-me;" in dev.cli("show configuration | compare rollback 1", warning=False)
    finally:
        dev.close()
