"""Helpers for the show tests: reference samples are parsed like a client would, and compared by shape."""

from __future__ import annotations

import pytest
from lxml import etree


def parse_sample(text: str) -> etree._Element:
    """Parse a reference sample with the hardened settings the project uses for untrusted XML."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True, huge_tree=False)
    return etree.fromstring(text.strip().encode(), parser)


def shape(element: etree._Element) -> tuple:
    """(local name, (child shapes...)) — element names and order, ignoring text and namespaces."""
    return (
        etree.QName(element).localname,
        tuple(shape(c) for c in element if isinstance(c.tag, str)),
    )


def leaf_values(element: etree._Element) -> list[tuple[str, str]]:
    """(local name, text) of every leaf element, in document order."""
    return [
        (etree.QName(e).localname, e.text or "")
        for e in element.iter()
        if isinstance(e.tag, str) and len(e) == 0 and e is not element
    ]


def roundtrip(element: etree._Element) -> etree._Element:
    """Serialize and parse again: the reply must be well-formed on the wire."""
    return parse_sample(etree.tostring(element).decode())


@pytest.fixture
def xml_tools():
    class Tools:
        parse = staticmethod(parse_sample)
        shape = staticmethod(shape)
        leaves = staticmethod(leaf_values)
        roundtrip = staticmethod(roundtrip)

    return Tools
