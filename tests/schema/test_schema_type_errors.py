"""Bad typed values, list keys above all, get one clear Junos-like error naming the statement.

Regression: ``set interfaces et-0/1/8 unit 0 family inet address 300.1.1.1/24`` used to report
``Invalid value for 'name': ''`` and ``List instance is missing its key "name"`` (libyang drops a key it
cannot store, so its errors do not carry the key in their paths).
"""

from __future__ import annotations

import copy
import json

import pytest
from lxml import etree

from netconf_device.schema import LoadError

BASE = (
    "set interfaces et-0/1/8 unit 0 family inet address 1.1.1.1/24\n"
    "set interfaces st0 unit 5 family inet\n"
    "set routing-options static route 10.0.0.0/8 next-hop st0.5\n"
)

# (set line, edit path, statement, message)
BAD_KEYS = [
    ("set interfaces et-0/1/8 unit 0 family inet address 300.1.1.1/24",
     "[edit interfaces et-0/1/8 unit 0 family inet]", "address 300.1.1.1/24",
     "'300.1.1.1/24' is not a valid IPv4 prefix: the address must be four octets 0..255"),
    ("set interfaces et-0/1/8 unit 0 family inet address 1.1.1.1/33",
     "[edit interfaces et-0/1/8 unit 0 family inet]", "address 1.1.1.1/33",
     "'1.1.1.1/33' is not a valid IPv4 prefix: prefix length must be 0..32"),
    ("set interfaces et-0/1/8 unit 0 family inet address 1.1.1.1",
     "[edit interfaces et-0/1/8 unit 0 family inet]", "address 1.1.1.1",
     "'1.1.1.1' is not a valid IPv4 prefix: missing prefix length (/0..32)"),
    ("set interfaces et-0/1/8 unit 0 family inet6 address 2001:db8::zz/64",
     "[edit interfaces et-0/1/8 unit 0 family inet6]", "address 2001:db8::zz/64",
     "'2001:db8::zz/64' is not a valid IPv6 prefix: the address part is not an IPv6 address"),
    ("set interfaces et-0/1/8 unit 0 family inet6 address 2001:db8::1/129",
     "[edit interfaces et-0/1/8 unit 0 family inet6]", "address 2001:db8::1/129",
     "'2001:db8::1/129' is not a valid IPv6 prefix: prefix length must be 0..128"),
    ("set routing-options static route 300.0.0.0/8 next-hop st0.5",
     "[edit routing-options static]", "route 300.0.0.0/8",
     "'300.0.0.0/8' is not a valid IPv4 prefix: the address must be four octets 0..255"),
    ("set routing-options rib inet6.0 static route 2001:db8::/200 next-hop st0.5",
     "[edit routing-options rib inet6.0 static]", "route 2001:db8::/200",
     "'2001:db8::/200' is not a valid IPv6 prefix: prefix length must be 0..128"),
    ("set interfaces st0 unit 99999 family inet",
     "[edit interfaces st0]", "unit 99999", "value 99999 is not within range (0..16385)"),
    ("set interfaces st0 unit abc family inet",
     "[edit interfaces st0]", "unit abc", "Invalid numeric value: 'abc'"),
    ("set chassis fpc 99 pic 0 inline-services",
     "[edit chassis]", "fpc 99", "value 99 is not within range (0..11)"),
    ("set security ipsec vpn v1 traffic-selector t1 local-ip 300.0.0.0/8",
     "[edit security ipsec vpn v1 traffic-selector t1]", "local-ip 300.0.0.0/8",
     "'300.0.0.0/8' is not a valid IP prefix: the address must be four octets 0..255"),
    ("set security ike gateway g1 address 300.1.1.1",
     "[edit security ike gateway g1]", "address 300.1.1.1", "'300.1.1.1' is not a valid IP address or host name"),
]


def _set_errors(schema, base, text):
    with pytest.raises(LoadError) as info:
        schema.load(base, text, "set", "set")
    return info.value.errors


def _no_libyang_noise(errors):
    for e in errors:
        assert "missing its key" not in e.message and "Invalid value for 'name'" not in e.message, e
        assert e.statement != "name", e


@pytest.mark.parametrize("line,path,statement,message", BAD_KEYS, ids=[c[2] for c in BAD_KEYS])
@pytest.mark.parametrize("into", ["empty", "configured"])
def test_bad_value_is_one_clear_error_with_its_statement(schema, line, path, statement, message, into):
    base = schema.empty() if into == "empty" else schema.parse(BASE, "set")
    before = etree.tostring(base)
    errors = _set_errors(schema, base, "set system host-name r1\n" + line + "\n")
    assert [(e.line, e.error_path, e.statement, e.message) for e in errors] == [(2, path, statement, message)]
    assert errors[0].error_type == "protocol" and errors[0].error_tag == "invalid-value"
    assert errors[0].cli_text() == f"terminal:2:(1) {message}: {statement}"
    assert etree.tostring(base) == before  # the candidate is untouched


def test_every_bad_key_of_a_list_is_reported_on_its_own_line(schema):
    errors = _set_errors(schema, schema.empty(), (
        "set interfaces et-0/1/8 unit 0 family inet address 1.1.1.1/24\n"
        "set interfaces et-0/1/8 unit 0 family inet address 300.1.1.1/24\n"
        "set interfaces et-0/1/8 unit 0 family inet address 1.1.1.2/24\n"
        "set interfaces et-0/1/8 unit 0 family inet address 1.1.1.3/40\n"
    ))
    _no_libyang_noise(errors)
    assert [(e.line, e.statement) for e in errors] == [(2, "address 300.1.1.1/24"), (4, "address 1.1.1.3/40")]


def test_text_xml_and_json_inputs_say_the_same(schema):
    expected = ("[edit interfaces et-0/1/8 unit 0 family inet]", "address 300.1.1.1/24",
                "'300.1.1.1/24' is not a valid IPv4 prefix: the address must be four octets 0..255")
    tree = {"interfaces": {"interface": [{"name": "et-0/1/8", "unit": [
        {"name": "0", "family": {"inet": {"address": [{"name": "300.1.1.1/24"}]}}}]}]}}
    inputs = {
        "text": "interfaces { et-0/1/8 { unit 0 { family inet { address 300.1.1.1/24; } } } }",
        "xml": "<configuration><interfaces><interface><name>et-0/1/8</name><unit><name>0</name><family><inet>"
               "<address><name>300.1.1.1/24</name></address></inet></family></unit></interface></interfaces>"
               "</configuration>",
        "json": json.dumps({"configuration": tree}),
    }
    for fmt, data in inputs.items():
        with pytest.raises(LoadError) as info:
            schema.load(schema.empty(), data, fmt, "merge")
        errors = info.value.errors
        assert [(e.error_path, e.statement, e.message) for e in errors] == [expected], fmt


def test_commit_validation_of_an_unchecked_tree_names_the_bad_keys(schema):
    """A tree that never went through a load (built by code, read from an old state directory) is
    validated at commit with the same clear errors."""
    tree = copy.deepcopy(schema.parse(BASE, "set"))
    tree.find("interfaces/interface/unit/family/inet/address/name").text = "300.1.1.1/24"
    tree.find("interfaces/interface[name='st0']/unit/name").text = "99999"
    tree.find("routing-options/static/route/name").text = "10.0.0.0/33"
    errors = [e for e in schema.validate(tree) if e.severity == "error"]
    _no_libyang_noise(errors)
    assert sorted((e.error_path, e.statement, e.message) for e in errors) == sorted([
        ("[edit interfaces et-0/1/8 unit 0 family inet]", "address 300.1.1.1/24",
         "'300.1.1.1/24' is not a valid IPv4 prefix: the address must be four octets 0..255"),
        ("[edit interfaces st0]", "unit 99999", "value 99999 is not within range (0..16385)"),
        ("[edit routing-options static]", "route 10.0.0.0/33",
         "'10.0.0.0/33' is not a valid IPv4 prefix: prefix length must be 0..32"),
    ])
    assert all(e.error_type == "application" and e.line is None for e in errors)


@pytest.mark.parametrize("address", ["peer.example.com", "peer1", "peer.example.com.", "16.2.0.1", "2001:db8::1",
                                     "1host"])
def test_gateway_host_names_and_addresses_are_accepted(schema, address):
    tree = schema.load(schema.empty(), f"set security ike gateway g1 address {address}", "set", "set").tree
    assert tree.findtext("security/ike/gateway/address") == address


@pytest.mark.parametrize("address", ["300.1.1.1", "1.2.3.4.5", "10.0.0.1."])
def test_gateway_all_numeric_names_are_mistyped_addresses(schema, address):
    errors = _set_errors(schema, schema.empty(), f"set security ike gateway g1 address {address}")
    assert [(e.statement, e.message) for e in errors] == [
        (f"address {address}", f"'{address}' is not a valid IP address or host name")]
