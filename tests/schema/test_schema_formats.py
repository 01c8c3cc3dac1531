"""Four formats, one schema: Junos XML, curly-brace text, set commands and Junos JSON convert to each other
without loss, and each looks the way Junos prints it."""

from __future__ import annotations

import itertools
import json

import pytest
from lxml import etree
from schema_testlib import SEED_FILES, seed_text

from netconf_device.schema import LoadError, secret

FORMATS = ("xml", "text", "set", "json")
PSK = secret.encode9("lab-secret-123", salt="nnet")


def xml_of(tree) -> bytes:
    return etree.tostring(tree, method="c14n")


def assert_same(schema, a, b):
    assert schema.compare(a, b) == ""
    assert xml_of(a) == xml_of(b)


@pytest.fixture(scope="module")
def peer1(schema):
    text = seed_text(SEED_FILES[0]).replace('"lab-secret-123"', f'"{PSK}"')
    return schema.parse(text, "set")


PEER1_TEXT = f"""\
system {{
    host-name peer1;
    login {{
        user lab {{
            uid 2001;
            class super-user;
            authentication {{
                encrypted-password "$6$labsalt0$GwxpMJMhQY6Xsd1sjr8nouQcKnWqp/dgIMZyzwyYYMZ1F7raFw9FRs4HJoW0kRV7585DdcBHw1/gz3IbmrArE/"; ## SECRET-DATA
            }}
        }}
    }}
    services {{
        netconf {{
            ssh;
        }}
    }}
}}
chassis {{
    fpc 0 {{
        pic 0 {{
            inline-services;
        }}
    }}
}}
services {{
    service-set SS1 {{
        next-hop-service {{
            inside-service-interface si-0/0/0.0;
            outside-service-interface si-0/0/0.1;
        }}
        ipsec-vpn ipsec_vpn;
    }}
}}
security {{
    ike {{
        proposal ike_prop {{
            authentication-method pre-shared-keys;
        }}
        policy ike_policy {{
            mode main;
            proposals ike_prop;
            pre-shared-key ascii-text "{PSK}"; ## SECRET-DATA
        }}
        gateway ike_gw {{
            ike-policy ike_policy;
            address 16.1.1.2;
            external-interface et-0/2/10;
            version v2-only;
        }}
    }}
    ipsec {{
        proposal ipsec_prop {{
            protocol esp;
            encryption-algorithm aes-256-gcm;
        }}
        policy ipsec_policy {{
            proposals ipsec_prop;
        }}
        vpn ipsec_vpn {{
            bind-interface st0.1;
            ike {{
                gateway ike_gw;
                ipsec-policy ipsec_policy;
            }}
            establish-tunnels immediately;
        }}
    }}
}}
interfaces {{
    et-0/1/8 {{
        unit 0 {{
            family inet {{
                address 1.1.1.1/24;
            }}
        }}
    }}
    et-0/2/10 {{
        unit 0 {{
            family inet {{
                address 16.1.1.1/24;
            }}
        }}
    }}
    si-0/0/0 {{
        unit 0 {{
            family inet;
            service-domain inside;
        }}
        unit 1 {{
            family inet;
            service-domain outside;
        }}
    }}
    st0 {{
        unit 1 {{
            family inet;
        }}
    }}
}}
routing-options {{
    static {{
        route 2.2.2.0/24 next-hop st0.1;
    }}
}}
"""


def test_show_configuration_text_of_the_seed(schema, peer1):
    assert schema.render(peer1, "text") == PEER1_TEXT


def test_display_set_of_the_seed_is_the_seed(schema, peer1):
    lines = [ln for ln in seed_text(SEED_FILES[0]).replace('"lab-secret-123"', f'"{PSK}"').splitlines()
             if ln and not ln.startswith("#")]
    assert sorted(schema.render(peer1, "set").splitlines()) == sorted(lines)


@pytest.mark.parametrize("name", SEED_FILES)
@pytest.mark.parametrize(("first", "second"), list(itertools.product(FORMATS, FORMATS)))
def test_seed_converts_between_every_pair_of_formats(schema, seed_trees, name, first, second):
    tree = seed_trees[name]
    via_first = schema.parse(schema.render(tree, first), first)
    via_second = schema.parse(schema.render(via_first, second), second)
    assert_same(schema, tree, via_second)


@pytest.mark.slow
def test_2000_vpns_round_trip_through_every_format(schema, scale_tree):
    assert len(scale_tree.findall("security/ipsec/vpn")) == 2000
    for fmt in FORMATS:
        assert_same(schema, scale_tree, schema.parse(schema.render(scale_tree, fmt), fmt))


RICH = f"""\
set system host-name lab-router
set system domain-name example.net
set interfaces et-0/1/8 description "uplink \\"A\\"; {{core}} #1"
set interfaces et-0/1/8 mtu 9192
set interfaces et-0/1/8 unit 0 family inet address 1.1.1.1/24
set interfaces et-0/1/8 unit 0 family inet6 address 2001:db8::1/64
set interfaces st0 unit 1 family inet
set interfaces st0 unit 1 description "tunnel to peer2"
set security ike proposal p1 authentication-method rsa-signatures
set security ike proposal p1 dh-group group20
set security ike proposal p2 lifetime-seconds 3600
set security ike policy pol proposals p2
set security ike policy pol proposals p1
set security ike policy pol pre-shared-key hexadecimal "{secret.encode9('00ff', salt='nnet')}"
set security ike gateway gw ike-policy pol
set security ike gateway gw address 192.0.2.1
set security ike gateway gw address 192.0.2.9
set security ike gateway gw dead-peer-detection probe-idle-tunnel
set security ike gateway gw dead-peer-detection interval 20
set security ike gateway gw no-nat-traversal
set security ike gateway gw local-identity inet 192.0.2.100
set security ike gateway gw remote-identity distinguished-name container "O=Example, CN=peer"
set security ike gateway gw external-interface et-0/1/8.0
set security ike gateway gw fragmentation size 1200
set security ipsec vpn v bind-interface st0.1
set security ipsec vpn v ike gateway gw
set security ipsec vpn v ike ipsec-policy ip
set security ipsec vpn v ike proxy-identity local 10.0.0.0/8
set security ipsec vpn v traffic-selector t1 local-ip 10.1.0.0/16
set security ipsec vpn v traffic-selector t1 remote-ip 10.2.0.0/16
set routing-options static route 10.0.0.0/8 next-hop [ 1.1.1.2 1.1.1.3 ]
set routing-options static route 0.0.0.0/0 discard
set routing-options rib inet6.0 static route ::/0 next-hop 2001:db8::2
deactivate security ike gateway gw no-nat-traversal
deactivate security ike policy pol proposals p1
deactivate routing-options static route 0.0.0.0/0
deactivate interfaces st0
annotate system "managed by ansible"
edit security ike
annotate gateway gw "to the far end"
"""


@pytest.fixture(scope="module")
def rich(schema):
    return schema.parse(RICH, "set")


@pytest.mark.parametrize(("first", "second"), list(itertools.product(FORMATS, FORMATS)))
def test_rich_configuration_converts_between_every_pair(schema, rich, first, second):
    via = schema.parse(schema.render(schema.parse(schema.render(rich, first), first), second), second)
    if "set" in (first, second):  # like Junos, "display set" has no annotations
        for comment in rich.xpath("//*[local-name()='comment']"):
            assert comment.text not in schema.render(via, "text")
        stripped = schema.parse(schema.render(rich, "set"), "set")
        assert_same(schema, stripped, via)
    else:
        assert_same(schema, rich, via)


def test_text_details_like_junos(schema, rich):
    text = schema.render(rich, "text")
    assert "/* managed by ansible */\nsystem {\n" in text
    assert "    host-name lab-router;\n" in text
    assert '        description "uplink \\"A\\"; {core} #1";\n' in text
    assert "inactive: st0 {" in text
    assert '            description "tunnel to peer2";\n' in text
    assert "            proposals [ p2 inactive: p1 ];\n" in text
    assert f'            pre-shared-key hexadecimal "{secret.encode9("00ff", salt="nnet")}"; ## SECRET-DATA\n' in text
    assert "            address [ 192.0.2.1 192.0.2.9 ];\n" in text
    assert "            inactive: no-nat-traversal;\n" in text
    assert "            local-identity inet 192.0.2.100;\n" in text
    assert '            remote-identity distinguished-name container "O=Example, CN=peer";\n' in text
    assert "            dead-peer-detection {\n                probe-idle-tunnel;\n                interval 20;\n" in text
    assert "        /* to the far end */\n        gateway gw {\n" in text
    assert "        route 10.0.0.0/8 next-hop [ 1.1.1.2 1.1.1.3 ];\n" in text
    assert "        inactive: route 0.0.0.0/0 discard;\n" in text
    assert "    rib inet6.0 {\n        static {\n            route ::/0 next-hop 2001:db8::2;\n" in text
    assert "            family inet {\n                address 1.1.1.1/24;\n            }\n" in text
    assert "            family inet6 {\n                address 2001:db8::1/64;\n" in text


def test_set_details_like_junos(schema, rich):
    lines = schema.render(rich, "set").splitlines()
    assert 'set system host-name lab-router' in lines
    assert "set security ike policy pol proposals p2" in lines
    assert "set security ike policy pol proposals p1" in lines
    assert "deactivate security ike policy pol proposals p1" in lines
    assert "deactivate security ike gateway gw no-nat-traversal" in lines
    assert "deactivate interfaces st0" == lines[lines.index("set interfaces st0 unit 1 family inet") + 1]
    assert "set routing-options static route 10.0.0.0/8 next-hop 1.1.1.2" in lines
    assert "set security ike gateway gw local-identity inet 192.0.2.100" in lines
    assert not any("SECRET-DATA" in ln or "/*" in ln for ln in lines)


def test_quoting_rule():
    from netconf_device.schema.tokens import quote

    assert quote("st0.1") == "st0.1"
    assert quote("2001:db8::1/64") == "2001:db8::1/64"
    assert quote("") == '""'
    assert quote("a b") == '"a b"'
    assert quote('say "hi"') == '"say \\"hi\\""'
    assert quote("$9$abc") == '"$9$abc"'
    assert quote("x;y") == '"x;y"'


def test_display_set_relative(schema, peer1):
    assert schema.render(peer1, "set", "security ike gateway ike_gw", relative=True) == (
        "set ike-policy ike_policy\nset address 16.1.1.2\nset external-interface et-0/2/10\nset version v2-only\n"
    )
    assert schema.render(peer1, "set", ["interfaces", "si-0/0/0", "unit", "1"]) == (
        "set interfaces si-0/0/0 unit 1 family inet\nset interfaces si-0/0/0 unit 1 service-domain outside\n"
    )
    assert schema.render(peer1, "set", "system host-name") == "set system host-name peer1\n"
    assert schema.render(peer1, "text", "security ike gateway ike_gw") == (
        "ike-policy ike_policy;\naddress 16.1.1.2;\nexternal-interface et-0/2/10;\nversion v2-only;\n"
    )
    assert schema.render(peer1, "text", "security ike gateway nope") == ""


def test_xml_and_json_of_a_sub_path_keep_their_ancestors(schema, peer1):
    xml = schema.render(peer1, "xml", "interfaces st0")
    parser = etree.XMLParser(remove_blank_text=True)
    assert etree.tostring(etree.fromstring(xml, parser)) == (
        b"<configuration><interfaces><interface><name>st0</name><unit><name>1</name><family><inet/></family>"
        b"</unit></interface></interfaces></configuration>"
    )
    doc = json.loads(schema.render(peer1, "json", "interfaces st0"))
    assert doc == {
        "configuration": {"interfaces": {"interface": [{"name": "st0", "unit": [{"name": 1, "family": {"inet": [None]}}]}]}}
    }


def test_json_conventions(schema, rich):
    doc = json.loads(schema.render(rich, "json"))["configuration"]
    gw = doc["security"]["ike"]["gateway"][0]
    assert gw["name"] == "gw"
    assert gw["no-nat-traversal"] == [None]
    assert gw["@no-nat-traversal"] == {"inactive": True}
    assert gw["@"] == {"comment": "/* to the far end */"}
    assert gw["address"] == ["192.0.2.1", "192.0.2.9"]
    assert gw["fragmentation"] == {"size": 1200}
    assert gw["dead-peer-detection"] == {"probe-idle-tunnel": [None], "interval": 20}
    pol = doc["security"]["ike"]["policy"][0]
    assert pol["proposals"] == ["p2", "p1"] and pol["@proposals"] == [None, {"inactive": True}]
    assert doc["system"]["@"] == {"comment": "/* managed by ansible */"}
    st0 = [i for i in doc["interfaces"]["interface"] if i["name"] == "st0"][0]
    assert st0["@"] == {"inactive": True}
    assert st0["unit"][0]["family"] == {"inet": [None]}
    assert st0["unit"][0]["name"] == 1


def test_xml_attributes_and_annotations(schema, rich):
    xml = schema.render(rich, "xml")
    root = etree.fromstring(xml.encode())
    assert root.find("interfaces/interface[name='st0']").get("inactive") == "inactive"
    comment = root.find("system").getprevious()
    assert etree.QName(comment).localname == "comment" and comment.text == "/* managed by ansible */"
    device_ns = "http://xml.juniper.net/junos/24.4R0/junos"
    versioned = schema.render(rich, "xml", junos_ns=device_ns)
    assert f'xmlns:junos="{device_ns}"' in versioned and "<junos:comment>/* managed by ansible */" in versioned
    assert schema.compare(rich, schema.parse(versioned, "xml")) == ""


def test_junos_json_input_with_strings_and_attributes(schema):
    doc = {
        "configuration": {
            "@": {"junos:commit-seconds": "1700000000"},
            "system": {"host-name": "j1", "services": {"netconf": {"ssh": [None]}}},
            "interfaces": {"interface": [{"name": "st0", "unit": [{"name": "3", "family": {"inet": {}}}]}]},
            "security": {"ike": {"gateway": [{"name": "g", "nat-keepalive": "30", "@": {"inactive": True},
                                             "no-nat-traversal": [None]}]}},
        }
    }
    tree = schema.parse(json.dumps(doc), "json")
    assert schema.render(tree, "set").splitlines() == [
        "set system host-name j1",
        "set system services netconf ssh",
        "set security ike gateway g nat-keepalive 30",
        "set security ike gateway g no-nat-traversal",
        "deactivate security ike gateway g",
        "set interfaces st0 unit 3 family inet",
    ]


def test_junos_xml_input_with_namespaces_and_metadata(schema):
    xml = """<rpc-reply xmlns:junos="http://xml.juniper.net/junos/24.4R1/junos">
      <configuration xmlns="http://xml.juniper.net/xnm/1.1/xnm" junos:commit-seconds="1481740774"
                     junos:commit-user="user">
        <system><domain-name>juniper.net</domain-name></system>
        <junos:comment>/* routes */</junos:comment>
        <routing-options><static><route><name>0.0.0.0/0</name><next-hop>10.0.0.1</next-hop></route></static>
        </routing-options>
      </configuration></rpc-reply>"""
    tree = schema.parse(xml, "xml")
    assert schema.render(tree, "text") == (
        "system {\n    domain-name juniper.net;\n}\n/* routes */\nrouting-options {\n    static {\n"
        "        route 0.0.0.0/0 next-hop 10.0.0.1;\n    }\n}\n"
    )
    assert tree.attrib == {}


def test_clear_text_secrets_are_stored_9_encoded(schema):
    for fmt, data in (
        ("set", 'set security ike policy p pre-shared-key ascii-text "s3cret value"'),
        ("text", 'security { ike { policy p { pre-shared-key ascii-text "s3cret value"; } } }'),
        ("xml", "<configuration><security><ike><policy><name>p</name><pre-shared-key>"
                "<ascii-text>s3cret value</ascii-text></pre-shared-key></policy></ike></security></configuration>"),
        ("json", '{"configuration": {"security": {"ike": {"policy": [{"name": "p", "pre-shared-key":'
                 ' {"ascii-text": "s3cret value"}}]}}}}'),
    ):
        tree = schema.parse(data, fmt)
        stored = tree.findtext("security/ike/policy/pre-shared-key/ascii-text")
        assert stored.startswith("$9$") and secret.decode9(stored) == "s3cret value", fmt
        for out in FORMATS:
            assert "s3cret value" not in schema.render(tree, out)


def test_hexadecimal_key_must_be_hex(schema):
    with pytest.raises(LoadError) as exc:
        schema.parse('set security ike policy p pre-shared-key hexadecimal "xyz"', "set")
    assert exc.value.errors[0].message == "Invalid hexadecimal key: use the digits 0-9 and a-f"


def test_hostile_xml_is_refused_or_inert(schema, tmp_path):
    target = tmp_path / "secret.txt"
    target.write_text("do-not-read")
    xxe = (f'<!DOCTYPE c [<!ENTITY x SYSTEM "file://{target}">]>'
           "<configuration><system><host-name>&x;</host-name></system></configuration>")
    try:
        tree = schema.parse(xxe, "xml")
    except LoadError:
        pass
    else:
        assert "do-not-read" not in etree.tostring(tree).decode()
    laughs = ('<!DOCTYPE c [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
              '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
              "<configuration><system><host-name>&c;</host-name></system></configuration>")
    try:
        tree = schema.parse(laughs, "xml")
    except LoadError:
        pass
    else:
        assert "aaaaaaaaaa" not in etree.tostring(tree).decode()
    deep = "<configuration>" + "<system>" * 200 + "</system>" * 200 + "</configuration>"
    with pytest.raises(LoadError):
        schema.parse(deep, "xml")
