"""Junos XML: reading untrusted input safely (unqualified on the way in) and printing ``<configuration>``."""

from __future__ import annotations

import copy

from lxml import etree

from netconf_device.schema.errors import JUNOS_NS, ConfigError, LoadError
from netconf_device.schema.treeops import COMMENT_TAG, INACTIVE, is_data

MAX_XML_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 64
# Edit attributes that survive unqualification (NETCONF's nc:operation, YANG's yang:insert/key/value).
EDIT_ATTRIBUTES = {"operation", "delete", "replace", "active", "inactive", "insert", "key", "value", "name", "rename"}


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        load_dtd=False,
    )


def _syntax_error(message: str, line: int | None = None, statement: str | None = None) -> LoadError:
    return LoadError(
        [ConfigError(message=message, statement=statement, line=line, error_type="protocol", error_tag="malformed-message")]
    )


def parse_xml(data: str | bytes | etree._Element) -> etree._Element:
    """The ``<configuration>`` element of ``data`` as an unqualified private copy."""
    if isinstance(data, etree._Element):
        root = copy.deepcopy(data)
        qualified = b"xmlns" in etree.tostring(root)
    else:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        if len(raw) > MAX_XML_BYTES:
            raise _syntax_error(f"configuration larger than {MAX_XML_BYTES} bytes")
        qualified = b"xmlns" in raw  # no declaration: no namespaced element or attribute anywhere
        try:
            root = etree.fromstring(raw, _parser())
        except etree.XMLSyntaxError as exc:
            raise _syntax_error(f"XML syntax error: {exc.msg}", exc.lineno) from exc
    found = _find_configuration(root)
    if found is None:
        raise _syntax_error("syntax error, expecting <configuration>", statement="configuration")
    if found is not root:  # a document of its own (XPath "//" must not see the envelope)
        found = copy.deepcopy(found)
    if qualified or found.attrib:
        _unqualify(found)
    return found


def _find_configuration(root: etree._Element) -> etree._Element | None:
    if etree.QName(root).localname == "configuration":
        return root
    for el in root.iter():
        if isinstance(el.tag, str) and etree.QName(el).localname == "configuration":
            return el
    return None


def _unqualify(root: etree._Element) -> None:
    stack = [(root, 0)]
    while stack:
        el, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _syntax_error("configuration nested too deeply", el.sourceline)
        if not isinstance(el.tag, str):
            continue
        qname = etree.QName(el)
        if qname.namespace and qname.localname == "comment" and "junos" in qname.namespace:
            el.tag = COMMENT_TAG
            el.attrib.clear()
            continue
        el.tag = qname.localname
        for attr in list(el.attrib):
            local = etree.QName(attr).localname
            value = el.attrib.pop(attr)
            if local in EDIT_ATTRIBUTES and el is not root:
                el.set(local, value)
        text = el.text
        if len(el) and text is not None and not text.strip():
            el.text = None
        for child in el:
            if child.tail is not None:
                child.tail = None
            stack.append((child, depth + 1))
    etree.cleanup_namespaces(root)


def render_xml(tree: etree._Element, junos_ns: str | None = None) -> str:
    """Junos-style pretty XML of a configuration tree; annotations use ``junos_ns`` (the device's
    ``xmlns:junos``, e.g. ``http://xml.juniper.net/junos/24.4R0/junos``) when given."""
    out = _presentable(tree, junos_ns or JUNOS_NS)
    return etree.tostring(out, encoding="unicode", pretty_print=True)


def _presentable(tree: etree._Element, junos_ns: str) -> etree._Element:
    has_comments = next(tree.iter(COMMENT_TAG), None) is not None
    nsmap = {"junos": junos_ns} if has_comments else None
    out = etree.Element("configuration", nsmap=nsmap)
    for key, value in tree.attrib.items():
        out.set(key, value)
    out.text = tree.text
    for child in tree:
        out.append(copy.deepcopy(child))
    for el in out.iter():
        el.tail = None
        if el.tag == COMMENT_TAG and junos_ns != JUNOS_NS:
            el.tag = f"{{{junos_ns}}}comment"
        if isinstance(el.tag, str) and len(el) and el.text is not None and not el.text.strip():
            el.text = None
    if nsmap:
        etree.cleanup_namespaces(out, top_nsmap=nsmap)
    return out


def strip_for_storage(tree: etree._Element) -> etree._Element:
    """Drop every attribute except ``inactive`` (edit attributes never get into a stored tree)."""
    for el in tree.iter():
        if not is_data(el):
            continue
        for attr in list(el.attrib):
            if attr != INACTIVE or el.attrib[attr] != INACTIVE:
                del el.attrib[attr]
    return tree
