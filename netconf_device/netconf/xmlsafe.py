"""Hardened XML parsing for everything that arrives from the network.

No DTDs (RFC 6241 forbids them in NETCONF messages, and that removes entity expansion attacks), no entity
resolution, no network access, no huge-tree mode (libxml2 then caps nesting at 256 levels and text nodes at
10 MB); the message size itself is bounded by the framer.
"""

from __future__ import annotations

import threading

from lxml import etree

NC_NS = "urn:ietf:params:xml:ns:netconf:base:1.0"
MAX_DEPTH = 256  # libxml2's own limit without XML_PARSE_HUGE; kept here so errors can say it


class XmlSecurityError(ValueError):
    """The document uses a feature we refuse (DTD, entities)."""


_local = threading.local()


def _parser() -> etree.XMLParser:
    # XMLParser objects are not thread-safe; one per thread (the device runs one event loop, tests more).
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
            collect_ids=False,
        )
        _local.parser = parser
    return parser


def parse_untrusted(data: bytes) -> etree._Element:
    """Parse one XML document from the network; raises XmlSecurityError or etree.XMLSyntaxError."""
    data = data.strip()
    if b"<!DOCTYPE" in data:  # entity declarations can only live inside a DOCTYPE
        raise XmlSecurityError("DTDs and entity declarations are not allowed")
    root = etree.fromstring(data, _parser())
    if root.getroottree().docinfo.doctype:
        raise XmlSecurityError("DTDs and entity declarations are not allowed")
    return root


def local_name(element: etree._Element) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def children(element: etree._Element, name: str) -> list[etree._Element]:
    """Child elements with local name ``name``, whatever their namespace (clients mix prefixes)."""
    return [c for c in element if isinstance(c.tag, str) and local_name(c) == name]


def child(element: etree._Element, name: str) -> etree._Element | None:
    for c in element:
        if isinstance(c.tag, str) and local_name(c) == name:
            return c
    return None


def child_text(element: etree._Element, name: str, default: str | None = None) -> str | None:
    found = child(element, name)
    if found is None:
        return default
    return (found.text or "").strip()


def strip_namespaces(element: etree._Element) -> etree._Element:
    """A copy of ``element`` with every namespace removed from tags and attributes."""
    copy = etree.fromstring(etree.tostring(element))
    for el in copy.iter():
        if isinstance(el.tag, str) and el.tag.startswith("{"):
            el.tag = el.tag.rpartition("}")[2]
        for key in list(el.attrib):
            if key.startswith("{"):
                value = el.attrib.pop(key)
                el.attrib[key.rpartition("}")[2]] = value
    etree.cleanup_namespaces(copy)
    return copy


def unqualify_in_place(element: etree._Element) -> etree._Element:
    """Drop the namespaces of an incoming operation, in place (it is our own parsed copy).

    Clients qualify the same operation differently (``nc:`` prefix, a default namespace, none at all), so
    handlers see plain local names. Attribute namespaces go too (``nc:operation`` becomes ``operation``,
    which is what the configuration loader reads); ``junos:`` annotations keep theirs.
    """
    for el in element.iter():
        tag = el.tag
        if isinstance(tag, str) and tag.startswith("{") and "junos" not in tag:
            el.tag = tag.rpartition("}")[2]
        if el.attrib:
            for key in [k for k in el.attrib if k.startswith("{") and "junos" not in k]:
                value = el.attrib.pop(key)
                el.attrib[key.rpartition("}")[2]] = value
    etree.cleanup_namespaces(element)
    return element
