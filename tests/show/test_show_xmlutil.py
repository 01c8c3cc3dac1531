"""The lxml helpers the reply builders and renderers share (netconf_device.show.xmlutil): the fast paths used
for listings of thousands of rows build and read exactly what the plain ones do, in any namespace."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from netconf_device.show import xmlutil
from netconf_device.show.xmlutil import LeafRow, child, children, sub, text_of, texts, top_element, xml_safe

LEAVES = ("sa-direction", "sa-tunnel-index", "sa-spi", "sa-remote-gateway")


@pytest.mark.parametrize("area_ns", [None, "http://xml.juniper.net/junos/24.4R1/junos-test"])
def test_show_leaf_row_equals_one_sub_per_leaf(area_ns):
    values = ("<", 500001, "0a1b2c3d", "peer\nforged line")
    expected = top_element("top", area_ns=area_ns)
    row = sub(expected, "ipsec-security-associations")
    for leaf, value in zip(LEAVES, values, strict=True):
        sub(row, leaf, value)
    built = top_element("top", area_ns=area_ns)
    stamp = LeafRow("ipsec-security-associations", LEAVES)
    stamp.add(built, values)
    stamp.add(built, ("<", 7, None, "x"))  # None: an empty leaf
    assert etree.tostring(built[0]) == etree.tostring(expected[0])
    assert built[1][2].text is None and built[1][1].text == "7"
    assert built[0][3].text == "peer\\nforged line"  # escaped like sub() does: no forged CLI line
    with pytest.raises(ValueError):
        stamp.add(built, ("<", 1))


@given(st.text(max_size=40))
def test_show_xml_safe_fast_path_agrees_with_the_escaping(text):
    slow = xmlutil._UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
    assert xml_safe(text) == slow
    element = etree.Element("x")
    element.text = xml_safe(text)  # always serializable
    assert etree.fromstring(etree.tostring(element)).text in (xml_safe(text), None)


def test_show_lookups_match_local_names_in_any_namespace():
    top = etree.fromstring('<a xmlns:j="urn:j"><!-- c --><b>1</b><j:b>2</j:b><c/><d>x</d><d>y</d></a>')
    assert [e.text for e in children(top, "b")] == ["1", "2"]
    assert child(top, "c") is not None and child(top, "zz") is None
    assert text_of(top, "c") == "" and text_of(top, "zz", "none") == "none" and text_of(top, "d") == "x"
    assert texts(top) == {"b": "1", "c": "", "d": "x"}
    namespaced = etree.fromstring('<a xmlns="urn:x"><b>1</b></a>')
    assert text_of(namespaced, "b") == "1" and texts(namespaced) == {"b": "1"}
