"""`show | compare` (Junos' hierarchical diff) and the subtree selection of <get-configuration> filters."""

from __future__ import annotations

import copy

import pytest
from lxml import etree
from schema_testlib import SEED_FILES


@pytest.fixture
def base(seed_trees):
    return copy.deepcopy(seed_trees[SEED_FILES[0]])


def changed(schema, base, lines: str):
    return schema.load(base, lines, "set").tree


def test_no_difference_is_exactly_empty(schema, base, seed_trees):
    assert schema.compare(base, copy.deepcopy(base)) == ""
    assert schema.compare(schema.empty(), schema.empty()) == ""
    # the same configuration reached another way is no difference either
    again = changed(schema, base, "delete system host-name\nset system host-name peer1")
    assert schema.compare(base, again) == ""


def test_added_interface_like_the_junos_sample(schema, base):
    new = changed(schema, base, 'set interfaces et-0/0/11 unit 0 description Test')
    assert schema.compare(base, new) == (
        "[edit interfaces]\n"
        "+   et-0/0/11 {\n"
        "+       unit 0 {\n"
        "+           description Test;\n"
        "+       }\n"
        "+   }\n"
    )


def test_changed_leaves_under_their_edit_path(schema, base):
    new = changed(schema, base, "set security ike gateway ike_gw address 16.1.1.9\n"
                                "delete security ike gateway ike_gw address 16.1.1.2\n"
                                "set security ike gateway ike_gw nat-keepalive 20\n"
                                "set system host-name peer1b\n")
    assert schema.compare(base, new) == (
        "[edit system]\n"
        "-   host-name peer1;\n"
        "+   host-name peer1b;\n"
        "[edit security ike gateway ike_gw]\n"
        "-   address 16.1.1.2;\n"
        "+   address 16.1.1.9;\n"
        "+   nat-keepalive 20;\n"
    )


def test_removed_statements_and_nested_paths(schema, base):
    new = changed(schema, base, "delete security ipsec vpn ipsec_vpn ike\n"
                                "set security ipsec vpn ipsec_vpn df-bit clear\n"
                                "delete interfaces st0 unit 1 family inet\n")
    assert schema.compare(base, new) == (
        "[edit security ipsec vpn ipsec_vpn]\n"
        "+   df-bit clear;\n"
        "-   ike {\n"
        "-       gateway ike_gw;\n"
        "-       ipsec-policy ipsec_policy;\n"
        "-   }\n"
        "[edit interfaces st0 unit 1]\n"
        "-   family inet;\n"
    )


def test_activation_changes_are_marked(schema, base):
    new = changed(schema, base, "deactivate security ike gateway ike_gw\n"
                                "deactivate system host-name\n")
    assert schema.compare(base, new) == (
        "[edit system]\n"
        "!   inactive: host-name peer1;\n"
        "[edit security ike]\n"
        "!   inactive: gateway ike_gw { ... }\n"
    )
    assert schema.compare(new, base) == (
        "[edit system]\n"
        "!   active: host-name peer1;\n"
        "[edit security ike]\n"
        "!   active: gateway ike_gw { ... }\n"
    )


def test_oneliners_and_leaf_lists_change_as_whole_statements(schema, base):
    new = changed(schema, base, "set routing-options static route 2.2.2.0/24 next-hop st0.2\n"
                                "delete routing-options static route 2.2.2.0/24 next-hop st0.1\n"
                                "set security ike policy ike_policy proposals p2\n"
                                "set security ike gateway ike_gw local-identity inet 16.1.1.1\n")
    assert schema.compare(base, new) == (
        "[edit security ike policy ike_policy]\n"
        "-   proposals ike_prop;\n"
        "+   proposals [ ike_prop p2 ];\n"
        "[edit security ike gateway ike_gw]\n"
        "+   local-identity inet 16.1.1.1;\n"
        "[edit routing-options static]\n"
        "-   route 2.2.2.0/24 next-hop st0.1;\n"
        "+   route 2.2.2.0/24 next-hop st0.2;\n"
    )


def test_reordered_list_entries(schema, base):
    new = changed(schema, base, "set security ike proposal p2\ninsert security ike proposal p2 before ike_prop")
    assert schema.compare(base, new) == "[edit security ike]\n+   proposal p2;\n"
    three = changed(schema, new, "set security ike proposal p3")
    moved = changed(schema, three, "insert security ike proposal p2 after p3")
    assert [e.text for e in moved.findall("security/ike/proposal/name")] == ["ike_prop", "p3", "p2"]
    assert schema.compare(three, moved) == "[edit security ike]\n!   proposal p2;\n"


def test_whole_configuration_against_empty(schema, base):
    diff = schema.compare(schema.empty(), base)
    assert diff.startswith("[edit]\n+   system {\n+       host-name peer1;\n")
    assert all(line.startswith(("[edit", "+")) for line in diff.splitlines())


# ------------------------------------------------------------------------------------------- select
def _xml(el) -> bytes:
    return etree.tostring(el)


def test_select_a_leaf(schema, base):
    base = changed(schema, base, "set system domain-name juniper.net")
    got = schema.select(base, "<configuration><system><domain-name/></system></configuration>")
    assert _xml(got) == b"<configuration><system><domain-name>juniper.net</domain-name></system></configuration>"


def test_select_list_entry_by_name(schema, base):
    got = schema.select(base, "<configuration><security><ike><gateway><name>ike_gw</name></gateway></ike>"
                              "</security></configuration>")
    assert got.find("security/ike/gateway/version").text == "v2-only"
    assert got.find("security/ike/policy") is None
    missing = schema.select(base, "<configuration><security><ike><gateway><name>none</name></gateway></ike>"
                                  "</security></configuration>")
    assert missing.find("security/ike/gateway") is None


def test_select_entries_by_content_match_nodes(schema, base):
    base = changed(schema, base, "set security ike gateway gw2 address 16.9.9.9\n"
                                 "set security ike gateway gw2 ike-policy ike_policy")
    got = schema.select(base, "<configuration><security><ike><gateway><name/><address>16.1.1.2</address>"
                              "</gateway></ike></security></configuration>")
    assert _xml(got) == (b"<configuration><security><ike><gateway><name>ike_gw</name><address>16.1.1.2</address>"
                         b"</gateway></ike></security></configuration>")
    every = schema.select(base, "<configuration><security><ike><gateway><name/><address/></gateway></ike>"
                                "</security></configuration>")
    assert [e.text for e in every.iterfind("security/ike/gateway/address")] == ["16.1.1.2", "16.9.9.9"]


def test_select_inside_entries(schema, base):
    got = schema.select(base, "<configuration><interfaces><interface><name>si-0/0/0</name><unit>"
                              "<service-domain/></unit></interface></interfaces></configuration>")
    assert _xml(got) == (
        b"<configuration><interfaces><interface><name>si-0/0/0</name>"
        b"<unit><name>0</name><service-domain>inside</service-domain></unit>"
        b"<unit><name>1</name><service-domain>outside</service-domain></unit>"
        b"</interface></interfaces></configuration>"
    )


def test_select_whole_subtrees_and_everything(schema, base):
    whole = schema.select(base, "<configuration/>")
    assert schema.compare(base, whole) == ""
    ike = schema.select(base, etree.fromstring(
        '<configuration xmlns="http://xml.juniper.net/xnm/1.1/xnm"><security><ike/></security></configuration>'))
    assert [c.tag for c in ike.find("security/ike")] == ["proposal", "policy", "gateway"]
    assert ike.find("security/ipsec") is None and ike.find("system") is None
    nothing = schema.select(base, "<configuration><system><domain-name/></system></configuration>")
    assert _xml(nothing) == b"<configuration/>"


def test_select_keeps_inactive_and_annotations(schema, base):
    base = changed(schema, base, 'deactivate security ike gateway ike_gw\nannotate security "vpn part"')
    got = schema.select(base, "<configuration><security/></configuration>")
    assert got.find("security/ike/gateway").get("inactive") == "inactive"
    assert "/* vpn part */" in schema.render(got, "text")
