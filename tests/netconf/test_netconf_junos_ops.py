"""Exact reply shapes of the Junos operations clients depend on (clients.md §5, junos-xml.md §1, §4)."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from lxml import etree
from ndnc_support import CH, IF, NC, RawNetconf


def rpcs(device, *bodies: str, user="admin", password="admin123") -> list[etree._Element]:
    async def go():
        client = await RawNetconf.open(device.port, user=user, password=password)
        out = [etree.fromstring(await client.rpc(body, str(i))) for i, body in enumerate(bodies)]
        client.close()
        return out

    return asyncio.run(go())


def test_reply_envelope(device):
    (reply,) = rpcs(device, "<get-software-information/>")
    assert reply.tag == NC + "rpc-reply" and reply.get("message-id") == "0"
    assert reply.nsmap["junos"].startswith("http://xml.juniper.net/junos/")
    info = reply[0]
    assert info.tag == NC + "software-information"
    assert info.findtext(NC + "host-name") == "peer1" and info.findtext(NC + "product-model") == "mx304"


def test_command_formats_and_pipes(device):
    text, xml, js, xmlrpc, count, match, invoke = rpcs(
        device,
        '<command format="text">show version</command>',
        "<command>show chassis routing-engine</command>",
        '<command format="json">show version</command>',
        "<command>show interfaces terse st0.1| display xml rpc</command>",
        '<command format="text">show interfaces terse | count</command>',
        '<command format="text">show interfaces terse | match inet</command>',
        "<command>show version invoke-on all-routing-engines</command>",
    )
    assert text.findtext(NC + "output").lstrip().startswith("Hostname: peer1")
    assert xml.find(f"{CH}route-engine-information/{CH}route-engine/{CH}mastership-state").text == "master"
    doc = json.loads(js.text)
    assert doc["software-information"][0]["host-name"][0]["data"] == "peer1"
    request = xmlrpc.find(f"{NC}rpc/{NC}get-interface-information")
    assert request.findtext(NC + "interface-name") == "st0.1" and request.find(NC + "terse") is not None
    assert "Count:" in count.findtext(NC + "output")
    lines = [x for x in match.findtext(NC + "output").splitlines() if x.strip()]
    assert lines and all("inet" in x for x in lines)
    item = invoke.find(f"{NC}multi-routing-engine-results/{NC}multi-routing-engine-item")
    assert item.findtext(NC + "re-name") == "re0" and item.find(NC + "software-information") is not None


def test_text_and_json_agree_with_xml(device):
    xml, text, js = rpcs(
        device,
        "<get-interface-information><terse/></get-interface-information>",
        '<get-interface-information format="text"><terse/></get-interface-information>',
        '<get-interface-information format="json"><terse/></get-interface-information>',
    )
    names = [n.text for n in xml.iter(IF + "name")]
    assert "et-0/1/8.0" in names and "st0.1" in names
    out = text.findtext(NC + "output")
    doc = json.loads(js.text)
    # Junos carries the reply's own namespace as "xmlns", first in "attributes"
    assert list(doc["interface-information"][0]["attributes"].items()) == [
        ("xmlns", IF.strip("{}")), ("junos:style", "terse")]
    json_names = [p["name"][0]["data"] for p in doc["interface-information"][0]["physical-interface"]]
    for name in [n.text for n in xml.iterfind(f"{IF}interface-information/{IF}physical-interface/{IF}name")]:
        assert name in out and name in json_names
    assert "1.1.1.1/24" in out


def test_interfaces_detail_name_and_private_instance(device):
    detail, one, private, missing = rpcs(
        device,
        "<get-interface-information><detail/></get-interface-information>",
        "<get-interface-information><interface-name>et-0/2/10</interface-name></get-interface-information>",
        "<get-interface-information><routing-instance>__juniper_private1__</routing-instance><terse/>"
        "</get-interface-information>",
        "<get-interface-information><interface-name>xe-9/9/9</interface-name></get-interface-information>",
    )
    phys = detail.findall(f"{IF}interface-information/{IF}physical-interface")
    assert phys and all(p.find(IF + "oper-status") is not None and p.find(IF + "if-type") is not None for p in phys)
    assert [p.findtext(IF + "name") for p in one.iter(IF + "physical-interface")] == ["et-0/2/10"]
    assert "16.1.1.1/24" in [e.text for e in one.iter(IF + "ifa-local")]
    locals_ = [e.text for e in private.iter(IF + "ifa-local")]
    assert "128.0.0.1/2" in locals_ and "128.0.0.4/2" in locals_
    assert missing.find(f"{NC}rpc-error") is not None


def test_facts_rpcs_and_mx_errors(device):
    hosts, cevo, vc, cluster, sat, mem, storage, inv = rpcs(
        device,
        "<file-show><filename>/etc/hosts.junos</filename></file-show>",
        "<file-show><filename>/usr/share/cevo/cevo_version</filename></file-show>",
        "<get-virtual-chassis-information/>",
        "<get-chassis-cluster-status/>",
        "<get-jnu-satellites-information/>",
        "<get-system-memory-information/>",
        "<get-system-storage/>",
        "<get-chassis-inventory/>",
    )
    assert "128.0.0.4" in hosts.findtext(NC + "file-content")
    for err in (cevo, vc, cluster, sat):
        assert err.find(f"{NC}rpc-error/{NC}error-severity").text == "error"
    assert int(mem.findtext(f".//{NC}system-memory-total")) > int(mem.findtext(f".//{NC}system-memory-free")) > 0
    assert storage.findall(f"{NC}system-storage-information/{NC}filesystem")
    chassis = inv.find(f"{CH}chassis-inventory/{CH}chassis")
    assert chassis.findtext(CH + "description") == "MX304" and chassis.findtext(CH + "serial-number")


def test_configuration_formats_compare_and_load_errors(device):
    xml, text, setf, js, nodiff, filt = rpcs(
        device,
        "<get-configuration/>",
        '<get-configuration format="text"/>',
        '<get-configuration format="set"/>',
        '<get-configuration format="json"/>',
        '<get-configuration compare="rollback" rollback="0" format="text"/>',
        '<get-configuration database="committed"><configuration><system><host-name/></system></configuration>'
        "</get-configuration>",
    )
    conf = xml.find(NC + "configuration")
    assert conf.findtext(f"{NC}system/{NC}host-name") == "peer1"
    assert any(k.endswith("commit-seconds") for k in conf.attrib)
    assert "host-name peer1;" in text.findtext(NC + "configuration-text")
    assert "set system host-name peer1" in setf.findtext(NC + "configuration-set")
    assert json.loads(js.text)["configuration"]
    assert nodiff.findtext(f"{NC}configuration-information/{NC}configuration-output") == "\n"
    assert [c.tag for c in filt.find(NC + "configuration")] == [NC + "system"]

    bad, good, diff, discard = rpcs(
        device,
        '<load-configuration action="set" format="text"><configuration-set>set system bogus 1\n'
        "set interfaces lo0 description floor1</configuration-set></load-configuration>",
        '<load-configuration action="merge" format="text"><configuration-text>interfaces { lo0 { description floor2; } }'
        "</configuration-text></load-configuration>",
        '<get-configuration compare="rollback" rollback="0" format="text"/>',
        "<discard-changes/>",
    )
    results = bad.find(NC + "load-configuration-results")
    assert results.find(NC + "rpc-error") is not None and results.find(NC + "ok") is None
    assert int(results.findtext(NC + "load-error-count")) >= 1
    assert good.find(f"{NC}load-configuration-results/{NC}ok") is not None
    assert "floor2" in diff.findtext(f"{NC}configuration-information/{NC}configuration-output")
    assert discard.find(NC + "ok") is not None


@pytest.mark.parametrize("body", ["<command>show bogus</command>", "<command>show version | frobnicate</command>"])
def test_bad_commands_are_syntax_errors(device, body):
    (reply,) = rpcs(device, body)
    assert "syntax error" in reply.findtext(f"{NC}rpc-error/{NC}error-message")


def test_commit_records_user_and_log(device):
    _, commit, history = rpcs(
        device,
        '<load-configuration action="set" format="text"><configuration-set>set interfaces lo0 description floor9'
        "</configuration-set></load-configuration>",
        "<commit-configuration><log>floor nine</log></commit-configuration>",
        "<get-commit-information/>",
    )
    assert commit.find(f"{NC}commit-results/{NC}routing-engine/{NC}commit-success") is not None
    entry = history.find(f"{NC}commit-information/{NC}commit-history")
    assert entry.findtext(NC + "user") == "admin" and entry.findtext(NC + "log") == "floor nine"
    assert entry.findtext(NC + "client") == "netconf"


def test_load_actions_json_override_update_and_rescue(device):
    js = json.dumps({"configuration": {"interfaces": {"interface": [{"name": "lo0", "description": "from-json"}]}}})
    (load_json, diff_json, _) = rpcs(
        device,
        f'<load-configuration action="merge" format="json"><configuration-json>{js}</configuration-json>'
        "</load-configuration>",
        '<get-configuration compare="rollback" rollback="0" format="text"/>',
        "<discard-changes/>",
    )
    assert load_json.find(f"{NC}load-configuration-results/{NC}ok") is not None
    assert "from-json" in diff_json.findtext(f".//{NC}configuration-output")

    (text,) = rpcs(device, '<get-configuration format="text" database="committed"/>')
    whole = text.findtext(NC + "configuration-text")
    override, after_override, update, after_update, _ = rpcs(
        device,
        '<load-configuration action="override" format="text"><configuration-text>'
        + whole.replace("host-name peer1;", "host-name overridden;")
        + "</configuration-text></load-configuration>",
        '<get-configuration compare="rollback" rollback="0" format="text"/>',
        '<load-configuration action="update" format="text"><configuration-text>'
        + whole + "</configuration-text></load-configuration>",
        '<get-configuration compare="rollback" rollback="0" format="text"/>',
        "<discard-changes/>",
    )
    for reply in (override, update):
        assert reply.find(f"{NC}load-configuration-results/{NC}ok") is not None
    assert "host-name overridden" in after_override.findtext(f".//{NC}configuration-output")
    assert after_update.findtext(f".//{NC}configuration-output") == "\n"

    save, rescue_show, set_other, load_rescue, diff, _ = rpcs(
        device,
        "<request-save-rescue-configuration/>",
        '<get-rescue-information format="text"/>',
        '<load-configuration action="set" format="text"><configuration-set>set system host-name other'
        "</configuration-set></load-configuration>",
        '<load-configuration rescue="rescue"/>',
        '<get-configuration compare="rollback" rollback="0" format="text"/>',
        "<discard-changes/>",
    )
    assert save.find(NC + "ok") is not None
    assert "host-name peer1;" in rescue_show.findtext(f".//{NC}configuration-output")
    assert load_rescue.find(f"{NC}load-configuration-results/{NC}ok") is not None
    assert diff.findtext(f".//{NC}configuration-output") == "\n"


def test_junos_confirmed_commit_in_minutes_is_confirmed_by_commit_check(device):
    _, confirmed, history, text, check, sync = rpcs(
        device,
        '<load-configuration action="set" format="text"><configuration-set>set interfaces lo0 description confirm-me'
        "</configuration-set></load-configuration>",
        "<commit-configuration><confirmed/><confirm-timeout>1</confirm-timeout><log>try</log></commit-configuration>",
        "<get-commit-information/>",
        '<command format="text">show system commit</command>',
        "<commit-configuration><check/></commit-configuration>",
        "<commit-configuration><synchronize/><log>sync</log></commit-configuration>",
    )
    assert confirmed.find(f".//{NC}commit-success") is not None
    entry = history.find(f"{NC}commit-information/{NC}commit-history")
    assert "rollback in 1mins" in entry.findtext(NC + "comment")
    first, second = text.findtext(NC + "output").strip("\n").splitlines()[:2]
    assert re.fullmatch(r"0   \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC by admin via netconf commit confirmed, rollback in 1mins",
                        first), first
    assert second == "    try"
    assert check.find(f".//{NC}commit-check-success") is not None
    assert sync.find(f".//{NC}commit-success") is not None


def test_show_configuration_pipes(device):
    display_set, text, js, compare, xml = rpcs(
        device,
        '<command format="text">show configuration security ike | display set</command>',
        '<command format="text">show configuration system services</command>',
        "<command>show configuration interfaces | display json</command>",
        '<command format="text">show configuration | compare rollback 0</command>',
        "<command>show configuration system host-name | display xml</command>",
    )
    out = display_set.findtext(f"{NC}configuration-information/{NC}configuration-output")
    assert "set security ike gateway ike_gw address 16.1.1.2" in out
    assert "netconf" in text.findtext(f".//{NC}configuration-output")
    assert "interfaces" in json.loads(js.text)["configuration"]
    assert compare.findtext(f".//{NC}configuration-output") == "\n"
    assert xml.findtext(f"{NC}configuration/{NC}system/{NC}host-name") == "peer1"


def test_every_commit_error_is_reported_inside_commit_results(device):
    _, commit, check, _ = rpcs(
        device,
        '<load-configuration action="set" format="text"><configuration-set>'
        "set security ipsec vpn v9 bind-interface st0.9\nset security ipsec vpn v9 ike gateway nope\n"
        "set security ipsec vpn v9 ike ipsec-policy ipsec_policy</configuration-set></load-configuration>",
        "<commit-configuration><log>bad</log></commit-configuration>",
        "<commit-configuration><check/></commit-configuration>",
        "<discard-changes/>",
    )
    for reply in (commit, check):
        assert reply.find(f"{NC}rpc-error") is None, "errors go inside <commit-results>, as Junos sends them"
        errors = reply.findall(f"{NC}commit-results/{NC}rpc-error")
        found = [(e.findtext(NC + "error-path"), e.findtext(NC + "error-message"),
                  e.findtext(f"{NC}error-info/{NC}bad-element")) for e in errors]
        assert found == [
            ("[edit security ipsec vpn v9]", "Referenced interface must be configured under [edit interfaces] hierarchy",
             "bind-interface st0.9"),
            ("[edit security ipsec vpn v9 ike]", "Referenced IKE gateway must be defined under [edit security ike gateway]",
             "gateway nope"),
            (None, "configuration check-out failed", None),
        ]
        assert reply.find(f".//{NC}commit-success") is None and reply.find(f".//{NC}commit-check-success") is None


def test_stored_configurations_and_bad_pipes(device):
    _, rb_text, rb_diff, rb_match, rescue_text, rescue_xml, bad_regex, bad_compare = rpcs(
        device,
        "<request-save-rescue-configuration/>",
        '<command format="text">show system rollback 0</command>',
        '<command format="text">show system rollback 0 compare 0</command>',
        '<command format="text">show system rollback 0 | match host-name</command>',
        '<command format="text">show system configuration rescue</command>',
        "<get-rescue-information/>",
        '<command format="text">show configuration | match "["</command>',
        '<command format="text">show configuration | compare rollback abc</command>',
    )
    output = f"{NC}configuration-information/{NC}configuration-output"
    assert "host-name peer1;" in rb_text.findtext(f"{NC}rollback-information/{output}")
    assert rb_diff.findtext(f"{NC}rollback-information/{output}") == "\n"
    assert rb_match.findtext(NC + "output").strip() == "host-name peer1;"
    # PyEZ's Config.rescue("get") reads rescue-information/configuration-information/configuration-output
    assert "host-name peer1;" in rescue_text.findtext(f"{NC}rescue-information/{output}")
    conf = rescue_xml.find(f"{NC}rescue-information/{NC}configuration")
    assert conf.findtext(f"{NC}system/{NC}host-name") == "peer1" and not conf.attrib
    for reply, message in ((bad_regex, "invalid regular expression"), (bad_compare, "syntax error")):
        assert message in reply.findtext(f"{NC}rpc-error/{NC}error-message")
        assert reply.findtext(f"{NC}rpc-error/{NC}error-message") != "internal error"


def test_configuration_xml_uses_the_junos_prefix(device):
    async def go():
        client = await RawNetconf.open(device.port)
        out = []
        for i, body in enumerate([
            '<load-configuration action="set" format="text"><configuration-set>annotate interfaces "wan side"'
            "</configuration-set></load-configuration>",
            "<get-configuration><configuration><interfaces/></configuration></get-configuration>",
            "<discard-changes/>",
        ]):
            out.append(await client.rpc(body, str(i)))
        client.close()
        return out

    _, raw, _ = asyncio.run(go())
    assert b"ns0:" not in raw and b"/*/junos" not in raw
    assert b" junos:commit-seconds=" in raw and b"<junos:comment>/* wan side */</junos:comment>" in raw


def add_users_and_commit(device, *lines: str) -> None:
    """Commit ``peek`` (read-only) and ``oper`` (operator) plus ``lines``."""
    from netconf_device.netconf.passwords import sha512_crypt

    users = []
    for name, uid, login_class in (("peek", 2300, "read-only"), ("oper", 2301, "operator")):
        users += [f"set system login user {name} uid {uid}", f"set system login user {name} class {login_class}",
                  f'set system login user {name} authentication encrypted-password "{sha512_crypt(name + "-pw")}"']
    _, commit = rpcs(
        device,
        '<load-configuration action="set" format="text"><configuration-set>' + "\n".join([*users, *lines])
        + "</configuration-set></load-configuration>",
        "<commit-configuration/>",
    )
    assert commit.find(f".//{NC}commit-success") is not None


CONFIG_CHANGING = [
    "<edit-config><target><candidate/></target><config><configuration><system><host-name>x</host-name></system>"
    "</configuration></config></edit-config>",
    "<copy-config><target><candidate/></target><source><running/></source></copy-config>",
    "<delete-config><target><candidate/></target></delete-config>",
    "<discard-changes/>",
    "<validate><source><candidate/></source></validate>",
    "<lock><target><candidate/></target></lock>",
    "<unlock><target><candidate/></target></unlock>",
    "<commit/>",
    "<commit><confirmed/><confirm-timeout>60</confirm-timeout></commit>",
    "<cancel-commit/>",
    "<lock-configuration/>",
    "<unlock-configuration/>",
    "<open-configuration><private/></open-configuration>",
    "<close-configuration/>",
    '<load-configuration action="set" format="text"><configuration-set>set system host-name x'
    "</configuration-set></load-configuration>",
    '<load-configuration rollback="1"/>',
    '<load-configuration rescue="rescue"/>',
    "<commit-configuration/>",
    "<commit-configuration><check/></commit-configuration>",
    "<request-save-rescue-configuration/>",
    "<request-delete-rescue-configuration/>",
    "<kill-session><session-id>1</session-id></kill-session>",
]


@pytest.mark.parametrize("user", ["peek", "oper"])
def test_read_only_and_operator_get_permission_denied_on_every_configuration_change(device, user):
    add_users_and_commit(device)
    (before,) = rpcs(device, "<get-commit-information/>")
    replies = rpcs(device, *CONFIG_CHANGING, user=user, password=f"{user}-pw")
    for body, reply in zip(CONFIG_CHANGING, replies, strict=True):
        errors = reply.findall(f".//{NC}rpc-error")
        assert [e.findtext(NC + "error-message") for e in errors] == ["permission denied"], (body, etree.tostring(reply))
        assert errors[0].findtext(f"{NC}error-info/{NC}bad-element") == etree.fromstring(body).tag
    (after,) = rpcs(device, "<get-commit-information/>")
    assert etree.tostring(after[0]) == etree.tostring(before[0]), "nothing was committed"
    (show,) = rpcs(device, '<command format="text">show system commit</command>', user=user, password=f"{user}-pw")
    assert show.find(NC + "output") is not None, "reading is allowed"


def test_users_without_the_secret_permission_see_secret_data_placeholders(device):
    add_users_and_commit(device, 'set security ike policy ike_policy pre-shared-key ascii-text "changed-secret-9"',
                         "set interfaces lo0 description peek-visible")
    bodies = [
        "<get-configuration/>",
        '<get-configuration format="text"/>',
        '<get-configuration format="set"/>',
        '<get-configuration format="json"/>',
        '<get-configuration compare="rollback" rollback="1" format="text"/>',
        "<get-config><source><running/></source></get-config>",
        '<get-config><source><running/></source><filter type="xpath" select="/configuration/security"/></get-config>',
        "<get/>",
        '<command format="text">show configuration</command>',
        '<command format="text">show configuration | display set</command>',
        "<command>show configuration | display xml</command>",
        "<command>show configuration | display json</command>",
        '<command format="text">show configuration | compare rollback 1</command>',
        '<command format="text">show system rollback 1</command>',
        '<command format="text">show system rollback 1 compare 0</command>',
    ]

    async def as_peek():
        client = await RawNetconf.open(device.port, user="peek", password="peek-pw")
        out = [await client.rpc(body, str(i)) for i, body in enumerate(bodies)]
        client.close()
        return out

    replies = asyncio.run(as_peek())
    for body, raw in zip(bodies, replies, strict=True):
        assert b"rpc-error" not in raw, (body, raw[:400])
        assert b"$9$" not in raw and b"$6$" not in raw and b"changed-secret-9" not in raw, body
        if "compare" not in body:
            assert b"SECRET-DATA" in raw, body
    assert b"peek-visible" in replies[4] and b"peek-visible" in replies[12]
    assert b"encrypted-password /* SECRET-DATA */; ## SECRET-DATA" in replies[1]  # unquoted, as Junos prints it
    (admin_view,) = rpcs(device, '<get-configuration format="text"/>')
    assert "$9$" in admin_view.findtext(NC + "configuration-text"), "super-user still sees the stored form"


def test_a_whole_configuration_file_wrapped_again_by_ncclient_loads(device):
    load, diff, _ = rpcs(
        device,
        '<load-configuration action="merge" format="xml"><configuration><configuration>'
        "<interfaces><interface><name>lo0</name><description>doubled</description></interface></interfaces>"
        "</configuration></configuration></load-configuration>",
        '<get-configuration compare="rollback" rollback="0" format="text"/>',
        "<discard-changes/>",
    )
    assert load.find(f"{NC}load-configuration-results/{NC}ok") is not None
    assert "description doubled;" in diff.findtext(f".//{NC}configuration-output")


def test_fifty_rollbacks_and_rollback_49(device):
    bodies = []
    for i in range(52):
        bodies += [f'<load-configuration action="set" format="text"><configuration-set>set interfaces lo0 description '
                   f"r{i}</configuration-set></load-configuration>", f"<commit-configuration><log>r{i}</log>"
                   "</commit-configuration>"]
    replies = rpcs(device, *bodies, "<get-commit-information/>", '<load-configuration rollback="49"/>',
                   '<get-configuration compare="rollback" rollback="0" format="text"/>', '<load-configuration rollback="50"/>',
                   "<discard-changes/>")
    history, rb49, diff, rb50, _ = replies[-5:]
    entries = history.findall(f"{NC}commit-information/{NC}commit-history")
    assert [e.findtext(NC + "sequence-number") for e in entries] == [str(n) for n in range(50)]
    assert entries[49].findtext(NC + "log") == "r2"
    assert rb49.find(f"{NC}load-configuration-results/{NC}ok") is not None
    assert "+   description r2;" in diff.findtext(f".//{NC}configuration-output")
    assert rb50.findtext(f".//{NC}rpc-error/{NC}error-message") == "rollback 50 does not exist"


def _load_errors(results: etree._Element) -> list[tuple]:
    return [(e.findtext(NC + "error-type"), e.findtext(NC + "error-tag"), e.findtext(NC + "error-message"),
             e.findtext(f"{NC}error-info/{NC}bad-element"), e.findtext(f"{NC}error-info/{NC}line-number"),
             e.findtext(f"{NC}error-info/{NC}column"), e.findtext(NC + "error-path"))
            for e in results.iterfind(NC + "rpc-error")]


def test_text_and_set_loads_report_every_bad_statement_and_apply_nothing(device):
    """Junos reads on after a syntax error (junos-xml.md 4.5: PyEZ's text-load fixture, the vSRX `load set`
    capture): every bad statement is an rpc-error (protocol, operation-failed, the token, its line and
    column), the count closes the results, and the candidate stays as it was."""
    text = ("system1 {\n"
            "    host-name a;\n"
            "}\n"
            "interfaces {\n"
            "    lo0 {\n"
            "        description good-text;\n"
            "        frobnicate 1;\n"
            "        mtu lots;\n"
            "    }\n"
            "}\n")
    lines = ("set interfaces lo0 description good-set\n"
             "set system bogus 1\n"
             'set system host-name "unterminated\n'
             "frob interfaces lo0\n"
             "set interfaces lo0 mtu 70000\n")
    text_load, set_load, diff = rpcs(
        device,
        f'<load-configuration action="merge" format="text"><configuration-text>{text}</configuration-text>'
        "</load-configuration>",
        f'<load-configuration action="set" format="text"><configuration-set>{lines}</configuration-set>'
        "</load-configuration>",
        '<get-configuration compare="rollback" rollback="0" format="text"/>',
    )
    results = text_load.find(NC + "load-configuration-results")
    found = _load_errors(results)
    assert found[:3] == [
        ("protocol", "operation-failed", "syntax error", "system1", "1", "1", None),
        ("protocol", "operation-failed", "error recovery ignores input until this point", "}", "3", "1", None),
        ("protocol", "operation-failed", "syntax error", "frobnicate", "7", "9", "[edit interfaces lo0]"),
    ]
    assert [(f[2], f[3], f[4]) for f in found[3:]] == [
        ("error recovery ignores input until this point", ";", "7"),
        ("Invalid numeric value: 'lots'", "mtu lots", "8"),  # the statements read are type-checked too
    ]
    assert results.findtext(NC + "load-error-count") == str(len(found)) and results.find(NC + "ok") is None

    results = set_load.find(NC + "load-configuration-results")
    found = _load_errors(results)
    assert [(f[2], f[3], f[4]) for f in found] == [
        ("syntax error", "bogus", "2"),
        ("missing closing quote", '"unterminated', "3"),
        ("unknown command", "frob", "4"),
        ("value 70000 is not within range (256..9192)", "mtu 70000", "5"),
    ]
    assert all(f[:2] == ("protocol", "operation-failed") for f in found[:3])
    assert results.findtext(NC + "load-error-count") == "4"
    # nothing of either load reached the candidate
    assert diff.findtext(f"{NC}configuration-information/{NC}configuration-output") == "\n"
