"""Loading: actions, set-format commands, Junos XML / NETCONF edit attributes, text tags, syntax errors that
point at the line and token and never change the input tree."""

from __future__ import annotations

import copy
import json

import pytest
from lxml import etree
from schema_testlib import SEED_FILES

from netconf_device.schema import LoadError


@pytest.fixture
def base(seed_trees):
    return copy.deepcopy(seed_trees[SEED_FILES[0]])


def c14n(tree) -> bytes:
    return etree.tostring(tree, method="c14n")


def load(schema, base, data, fmt="set", action="merge", path=None):
    before = c14n(base)
    result = schema.load(base, data, fmt, action, path)
    assert c14n(base) == before, "load modified its input tree"
    return result


def load_error(schema, base, data, fmt="set", action="merge", path=None) -> list:
    before = c14n(base)
    with pytest.raises(LoadError) as exc:
        schema.load(base, data, fmt, action, path)
    assert c14n(base) == before, "a failed load modified its input tree"
    return exc.value.errors


def text(schema, tree, path=None) -> str:
    return schema.render(tree, "text", path)


# ------------------------------------------------------------------------------------------- set lines
def test_set_of_a_list_key_creates_the_entry(schema, base):
    tree = load(schema, base, "set security ike policy empty_pol\nset security ipsec proposal p2").tree
    assert text(schema, tree, "security ike policy empty_pol") == ""
    assert "    policy empty_pol;\n" in text(schema, tree, "security")
    assert tree.find("security/ipsec/proposal[name='p2']") is not None


def test_setting_a_choice_case_removes_the_other(schema, base):
    tree = load(schema, base, "set security ike gateway ike_gw local-identity inet 192.0.2.1").tree
    tree = load(schema, tree, "set security ike gateway ike_gw local-identity hostname a.example").tree
    assert text(schema, tree, "security ike gateway ike_gw local-identity") == "hostname a.example;\n"
    assert "    local-identity hostname a.example;\n" in text(schema, tree, "security ike")
    tree = load(schema, tree, "set security ike policy ike_policy pre-shared-key hexadecimal 00ff").tree
    assert tree.find("security/ike/policy/pre-shared-key/ascii-text") is None
    assert tree.find("security/ike/policy/pre-shared-key/hexadecimal") is not None
    tree = load(schema, tree, "set routing-options static route 2.2.2.0/24 discard").tree
    assert text(schema, tree, "routing-options") == "static {\n    route 2.2.2.0/24 discard;\n}\n"
    tree = load(schema, tree, "set security ike gateway ike_gw dead-peer-detection always-send\n"
                              "set security ike gateway ike_gw dead-peer-detection probe-idle-tunnel").tree
    assert text(schema, tree, "security ike gateway ike_gw dead-peer-detection") == "probe-idle-tunnel;\n"


def test_leaf_list_set_appends_in_order(schema, base):
    tree = load(schema, base, "set security ike policy ike_policy proposals p3\n"
                              "set security ike policy ike_policy proposals p2\n"
                              "set security ike policy ike_policy proposals ike_prop").tree
    assert [e.text for e in tree.findall("security/ike/policy/proposals")] == ["ike_prop", "p3", "p2"]
    tree = load(schema, tree, "set security ike gateway ike_gw address [ 1.1.1.1 2.2.2.2 ]").tree
    assert [e.text for e in tree.findall("security/ike/gateway/address")] == ["16.1.1.2", "1.1.1.1", "2.2.2.2"]


def test_deleting_the_last_child_removes_a_non_presence_container(schema, base):
    tree = load(schema, base, "delete routing-options static route 2.2.2.0/24").tree
    assert tree.find("routing-options") is None
    tree = load(schema, base, "delete system services netconf ssh").tree
    assert tree.find("system/services") is None and tree.find("system/host-name") is not None
    # a presence container stays when its last child goes
    tree = load(schema, base, "set system services netconf ssh port 830\n"
                              "delete system services netconf ssh port").tree
    assert tree.find("system/services/netconf/ssh") is not None
    # deleting a leaf-list value, a whole leaf-list, a whole list
    tree = load(schema, base, "set security ike policy ike_policy proposals p2\n"
                              "delete security ike policy ike_policy proposals ike_prop").tree
    assert [e.text for e in tree.findall("security/ike/policy/proposals")] == ["p2"]
    tree = load(schema, base, "delete security ike policy ike_policy proposals").tree
    assert tree.find("security/ike/policy/proposals") is None
    tree = load(schema, base, "delete interfaces").tree
    assert tree.find("interfaces") is None


def test_delete_of_something_absent_is_a_warning(schema, base):
    result = load(schema, base, "delete security ike gateway nope")
    assert [(w.severity, w.message, w.statement, w.line) for w in result.warnings] == [
        ("warning", "statement not found", "security ike gateway nope", 1)
    ]
    assert c14n(result.tree) == c14n(base)


def test_activate_deactivate(schema, base):
    tree = load(schema, base, "deactivate security ike gateway ike_gw\n"
                              "deactivate interfaces et-0/1/8 unit 0 family inet\n"
                              "deactivate system host-name").tree
    shown = text(schema, tree)
    assert "    inactive: gateway ike_gw {\n" in shown
    assert "            inactive: family inet {\n" in shown
    assert "    inactive: host-name peer1;\n" in shown
    back = load(schema, tree, "activate security ike gateway ike_gw\n"
                              "activate interfaces et-0/1/8 unit 0 family inet\n"
                              "activate system host-name").tree
    assert c14n(back) == c14n(base)


def test_insert_before_and_after(schema, base):
    tree = load(schema, base, "set security ike proposal p2 dh-group group19\n"
                              "set security ike proposal p3 dh-group group20\n"
                              "insert security ike proposal p3 before proposal ike_prop\n").tree
    assert [e.text for e in tree.findall("security/ike/proposal/name")] == ["p3", "ike_prop", "p2"]
    tree = load(schema, tree, "insert security ike proposal p3 after p2").tree
    assert [e.text for e in tree.findall("security/ike/proposal/name")] == ["ike_prop", "p2", "p3"]
    tree = load(schema, tree, "set security ike policy ike_policy proposals p2\n"
                              "insert security ike policy ike_policy proposals p2 before ike_prop").tree
    assert [e.text for e in tree.findall("security/ike/policy/proposals")] == ["p2", "ike_prop"]


def test_rename(schema, base):
    tree = load(schema, base, "rename security ike gateway ike_gw to gateway gw-new").tree
    assert tree.find("security/ike/gateway[name='gw-new']/ike-policy").text == "ike_policy"
    tree = load(schema, tree, "rename interfaces st0 unit 1 to unit 2").tree
    assert tree.find("interfaces/interface[name='st0']/unit/name").text == "2"
    tree = load(schema, tree, "rename security ike policy ike_policy proposals ike_prop to proposals p9").tree
    assert [e.text for e in tree.findall("security/ike/policy/proposals")] == ["p9"]
    errors = load_error(schema, base, "rename security ike proposal ike_prop to proposal ike_prop")
    assert errors[0].message == "ike_prop already exists"


def test_comments_blank_lines_edit_up_top_and_annotate(schema, base):
    tree = load(schema, base, """
# a comment line

edit security ike gateway ike_gw
set nat-keepalive 20
up 2
set ipsec vpn ipsec_vpn df-bit clear
top
set system domain-name example.net
annotate system "lab peer"
""").tree
    assert tree.findtext("security/ike/gateway/nat-keepalive") == "20"
    assert tree.findtext("security/ipsec/vpn/df-bit") == "clear"
    assert tree.findtext("system/domain-name") == "example.net"
    assert text(schema, tree).startswith("/* lab peer */\nsystem {\n")


def test_relative_set_and_text_loads(schema, base):
    tree = load(schema, base, "set nat-keepalive 30\nset no-nat-traversal", path="security ike gateway ike_gw").tree
    assert tree.findtext("security/ike/gateway/nat-keepalive") == "30"
    tree = load(schema, base, "nat-keepalive 40;\ndead-peer-detection { interval 20; }", "text",
                path="security ike gateway ike_gw").tree
    assert tree.findtext("security/ike/gateway/nat-keepalive") == "40"
    assert tree.findtext("security/ike/gateway/dead-peer-detection/interval") == "20"


# ------------------------------------------------------------------------------------------- errors
def test_set_syntax_errors_name_line_and_token(schema, base):
    errors = load_error(schema, base, (
        "set system host-name ok\n"
        "set system hostname x\n"
        "sett system host-name y\n"
        "set security ike gateway\n"
        "set security ike gateway ike_gw nat-keepalive\n"
        "set security ike gateway ike_gw version v3\n"
        "set security ike gateway ike_gw nat-keepalive 999\n"
        "set system host-name a b\n"
    ))
    got = [(e.line, e.message, e.statement) for e in errors]
    assert got == [
        (2, "syntax error", "hostname"),
        (3, "unknown command", "sett"),
        (4, "missing argument", "gateway"),
        (5, "missing argument", "nat-keepalive"),
        (6, "syntax error", "v3"),
        (7, "value 999 is not within range (1..300)", "nat-keepalive 999"),
        (8, "syntax error", "b"),
    ]
    assert errors[0].column == 12 and errors[0].error_path == "[edit]"
    assert errors[5].error_path == "[edit security ike gateway ike_gw]"
    assert all(e.error_type == "protocol" and e.severity == "error" for e in errors)


def test_bad_values_are_refused_at_load_with_their_line(schema, base):
    errors = load_error(schema, base, (
        "set interfaces et-0/1/8 unit 0 family inet address 1.2.3.400/24\n"
        "set interfaces xe-0/0/0:1 unit 0 family inet\n"
        "set interfaces foo-1 unit 0\n"
        "set security ike proposal p lifetime-seconds ten\n"
    ))
    assert [(e.line, e.message) for e in errors] == [
        (1, "'1.2.3.400/24' is not a valid IPv4 prefix: the address must be four octets 0..255"),
        (3, "Invalid interface name: expected et-, xe-, ge- or si-FPC/PIC/PORT, st0, lo0 or fxp0"),
        (4, "Invalid numeric value: 'ten'"),
    ]
    assert errors[1].statement == "foo-1" and errors[1].error_path == "[edit interfaces]"


def test_text_syntax_error_like_junos(schema, base):
    errors = load_error(schema, base, "system {\n    host-name x;\n    system1 {\n    }\n}\n", "text")
    # Junos' pair (PyEZ's load-configuration-error.xml): the bad statement, then where reading went on
    assert [(e.line, e.column, e.message, e.statement, e.error_path) for e in errors] == [
        (3, 5, "syntax error", "system1", "[edit system]"),
        (4, 5, "error recovery ignores input until this point", "}", "[edit system]"),
    ]
    errors = load_error(schema, base, "system {\n    host-name x;\n", "text")
    assert errors[0].message == "missing closing brace"
    errors = load_error(schema, base, "system { host-name; }", "text")
    assert errors[0].message == "missing argument"


def test_xml_and_json_syntax_errors(schema, base):
    errors = load_error(schema, base, "<configuration><system><bogus/></system></configuration>", "xml")
    assert [(e.message, e.statement, e.error_path) for e in errors] == [("syntax error", "bogus", "[edit system]")]
    errors = load_error(schema, base, "<configuration><system>", "xml")
    assert errors[0].message.startswith("XML syntax error")
    errors = load_error(schema, base, '{"configuration": {"system": {"bogus": 1}}}', "json")
    assert [(e.message, e.statement) for e in errors] == [("syntax error", "bogus")]
    errors = load_error(schema, base, "{not json", "json")
    assert errors[0].message.startswith("JSON syntax error")


# ------------------------------------------------------------------------------------------- actions
NEW_HOST = "<configuration><system><host-name>newname</host-name></system></configuration>"


def test_merge_replace_override_update(schema, base):
    merged = load(schema, base, NEW_HOST, "xml", "merge").tree
    assert merged.findtext("system/host-name") == "newname" and merged.find("security") is not None
    for action in ("override", "update"):
        only = load(schema, base, NEW_HOST, "xml", action).tree
        assert schema.render(only, "set") == "set system host-name newname\n", action
    replaced = load(schema, base, '<configuration><system replace="replace"><host-name>r</host-name></system>'
                                  "</configuration>", "xml", "replace").tree
    assert schema.render(replaced, "set", "system") == "set system host-name r\n"
    assert replaced.find("security") is not None
    text_replaced = load(schema, base, "replace: system { host-name t; }", "text", "replace").tree
    assert schema.render(text_replaced, "set", "system") == "set system host-name t\n"


def test_action_set_with_text_format(schema, base):
    tree = load(schema, base, "set system host-name viaset", "text", "set").tree
    assert tree.findtext("system/host-name") == "viaset"


def test_netconf_operations(schema, base):
    tree = load(schema, base, '<configuration><system><host-name operation="delete"/></system>'
                              '<security><ike><gateway operation="remove"><name>absent</name></gateway></ike>'
                              "</security></configuration>", "xml").tree
    assert tree.find("system/host-name") is None
    errors = load_error(schema, base, '<configuration><system><domain-name operation="delete"/></system>'
                                      "</configuration>", "xml")
    assert [(e.error_tag, e.error_type, e.statement) for e in errors] == [
        ("data-missing", "application", "domain-name")
    ]
    errors = load_error(schema, base, '<configuration><security><ike><gateway operation="create">'
                                      "<name>ike_gw</name></gateway></ike></security></configuration>", "xml")
    assert [(e.error_tag, e.statement, e.error_path) for e in errors] == [
        ("data-exists", "gateway ike_gw", "[edit security ike]")
    ]
    created = load(schema, base, '<configuration><security><ike><gateway operation="create"><name>g2</name>'
                                 "<ike-policy>ike_policy</ike-policy></gateway></ike></security></configuration>",
                   "xml").tree
    assert created.find("security/ike/gateway[name='g2']") is not None
    replaced = load(schema, base, '<configuration><security><ike><gateway operation="replace"><name>ike_gw</name>'
                                  "<ike-policy>other</ike-policy></gateway></ike></security></configuration>",
                    "xml").tree
    assert schema.render(replaced, "set", "security ike gateway ike_gw", relative=True) == "set ike-policy other\n"


def test_default_operation_none_changes_only_statements_with_an_operation(schema, base):
    def none(xml):
        return schema.load(base, xml, "xml", "merge", default_operation="none")

    tree = none('<configuration><system><host-name>ignored</host-name></system><interfaces>'
                '<interface><name>st0</name><unit operation="delete"><name>1</name></unit></interface>'
                "</interfaces></configuration>").tree
    assert tree.findtext("system/host-name") == "peer1", "a leaf without an operation only selects"
    assert tree.find("interfaces/interface[name='st0']/unit") is None
    # nothing below an absent statement creates it; an explicit merge or create does
    tree = none("<configuration><interfaces><interface><name>lo0</name><description>x</description>"
                "</interface></interfaces></configuration>").tree
    assert tree.find("interfaces/interface[name='lo0']") is None
    tree = none('<configuration><interfaces><interface><name>lo0</name><description operation="merge">x'
                "</description></interface></interfaces></configuration>").tree
    assert tree.findtext("interfaces/interface[name='lo0']/description") == "x"
    with pytest.raises(LoadError) as exc:
        none('<configuration><interfaces><interface><name>xe-1/1/1</name><unit operation="delete">'
             "<name>0</name></unit></interface></interfaces></configuration>")
    assert [e.error_tag for e in exc.value.errors] == ["data-missing"]
    none('<configuration><interfaces><interface><name>xe-1/1/1</name><unit operation="remove"><name>0</name>'
         "</unit></interface></interfaces></configuration>")


def test_children_inherit_the_operation_of_their_parent(schema, base):
    tree = schema.load(base, '<configuration><interfaces><interface operation="merge"><name>lo0</name>'
                             "<description>d</description><unit><name>0</name><description>u</description></unit>"
                             "</interface></interfaces></configuration>", "xml", default_operation="none").tree
    assert tree.findtext("interfaces/interface[name='lo0']/description") == "d"
    assert tree.findtext("interfaces/interface[name='lo0']/unit/description") == "u"


def test_namespaced_netconf_attributes(schema, base):
    xml = ('<config xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0"><configuration>'
           '<system><host-name nc:operation="delete"/></system></configuration></config>')
    assert load(schema, base, xml, "xml").tree.find("system/host-name") is None


def test_junos_attributes(schema, base):
    result = load(schema, base, '<configuration><system><domain-name delete="delete"/></system>'
                                '<security><ike><gateway inactive="inactive"><name>ike_gw</name></gateway>'
                                '<policy rename="rename" name="pol2"><name>ike_policy</name></policy>'
                                '<proposal insert="first"><name>p0</name></proposal>'
                                '<proposal insert="after" key="[ name=\'p0\' ]"><name>p1</name></proposal>'
                                "</ike></security></configuration>", "xml")
    assert [(w.message, w.statement) for w in result.warnings] == [("statement not found", "domain-name")]
    tree = result.tree
    assert tree.find("security/ike/gateway[name='ike_gw']").get("inactive") == "inactive"
    assert tree.find("security/ike/policy/name").text == "pol2"
    assert [e.text for e in tree.findall("security/ike/proposal/name")] == ["p0", "p1", "ike_prop"]
    again = load(schema, tree, '<configuration><security><ike><gateway active="active"><name>ike_gw</name>'
                               "</gateway><proposal delete=\"delete\"><name>p1</name></proposal>"
                               '<proposal insert="before" name="p0"><name>ike_prop</name></proposal>'
                               "</ike></security></configuration>", "xml").tree
    assert again.find("security/ike/gateway[name='ike_gw']").get("inactive") is None
    assert [e.text for e in again.findall("security/ike/proposal/name")] == ["ike_prop", "p0"]
    # leaf-list insert and a deactivated leaf
    ll = load(schema, base, '<configuration><security><ike><policy><name>ike_policy</name>'
                            '<proposals insert="before" name="ike_prop">p5</proposals></policy></ike></security>'
                            '<system><host-name inactive="inactive"/></system></configuration>', "xml").tree
    assert [e.text for e in ll.findall("security/ike/policy/proposals")] == ["p5", "ike_prop"]
    assert ll.find("system/host-name").get("inactive") == "inactive" and ll.findtext("system/host-name") == "peer1"


def test_text_tags_and_comments(schema, base):
    tree = load(schema, base, """
/* core uplink */
interfaces {
    inactive: et-0/1/9 {
        description "spare port";
    }
    delete: st0;
}
security {
    ike {
        replace: gateway ike_gw {
            ike-policy ike_policy;
            address 9.9.9.9;
            external-interface et-0/2/10;
        }
    }
}
""", "text").tree
    shown = text(schema, tree)
    assert "/* core uplink */\ninterfaces {\n" in shown
    assert "    inactive: et-0/1/9 {\n" in shown
    assert tree.find("interfaces/interface[name='st0']") is None
    assert schema.render(tree, "set", "security ike gateway ike_gw", relative=True) == (
        "set ike-policy ike_policy\nset address 9.9.9.9\nset external-interface et-0/2/10\n"
    )


def test_json_load_with_attributes(schema, base):
    doc = {"configuration": {
        "system": {"@host-name": {"operation": "delete"}, "host-name": "x"},
        "security": {"ike": {"gateway": [{"name": "ike_gw", "@": {"inactive": True}}]}},
    }}
    tree = load(schema, base, json.dumps(doc), "json").tree
    assert tree.find("system/host-name") is None
    assert tree.find("security/ike/gateway").get("inactive") == "inactive"


def test_relative_loads_take_text_or_set(schema, base):
    errors = load_error(schema, base, "<configuration/>", "xml", path="system")
    assert errors[0].message == "a relative load takes text or set input"


def test_loaded_tree_has_only_inactive_attributes(schema, base):
    tree = load(schema, base, '<configuration><security><ike><proposal insert="first" operation="merge">'
                              "<name>p0</name></proposal></ike></security></configuration>", "xml").tree
    assert all(set(el.attrib) <= {"inactive"} for el in tree.iter())


@pytest.mark.parametrize(("fmt", "data"), [
    ("set", 'set security ike policy ike_policy pre-shared-key ascii-text "lab-secret-123"'),
    ("text", 'security { ike { policy ike_policy { pre-shared-key ascii-text "lab-secret-123"; } } }'),
    ("xml", "<configuration><security><ike><policy><name>ike_policy</name><pre-shared-key><ascii-text>"
            "lab-secret-123</ascii-text></pre-shared-key></policy></ike></security></configuration>"),
    ("json", '{"configuration": {"security": {"ike": {"policy": [{"name": "ike_policy", "pre-shared-key": '
             '{"ascii-text": "lab-secret-123"}}]}}}}'),
])
def test_setting_the_same_secret_again_changes_nothing(schema, base, fmt, data):
    tree = load(schema, base, data, fmt, "set" if fmt == "set" else "merge").tree
    assert schema.compare(base, tree) == "", "the stored $9$ form is kept (idempotent Ansible runs)"
    other = load(schema, base, data.replace("lab-secret-123", "lab-secret-124"), fmt,
                 "set" if fmt == "set" else "merge").tree
    assert "pre-shared-key" in schema.compare(base, other)
