"""Small lxml helpers shared by the reply builders and the text renderers.

Builders create namespace-qualified elements exactly once (the reply's top element declares the ``junos``
prefix, and the default area namespace where Junos uses one). Renderers look children up by *local name*,
so they work on replies with or without namespaces (clients such as Toby and PyEZ strip them).
"""

from __future__ import annotations

import re

from lxml import etree

from netconf_device.show.junos_version import JUNOS_NS

Element = etree._Element


def top_element(tag: str, *, style: str | None = None, area_ns: str | None = None) -> Element:
    """The reply's top element, declaring ``xmlns:junos`` (and a default namespace if ``area_ns``)."""
    nsmap: dict[str | None, str] = {"junos": JUNOS_NS}
    if area_ns:
        nsmap[None] = area_ns
    element = etree.Element(etree.QName(area_ns, tag) if area_ns else tag, nsmap=nsmap)
    if style is not None:
        element.set(etree.QName(JUNOS_NS, "style"), style)
    return element


# Values are single-line strings. Some come from the network (a peer's IKE identity), so characters XML
# cannot carry, and control characters that would break or forge CLI lines (newline, tab, DEL ...), are
# escaped rather than allowed to make the reply unserializable or the text misleading.
_UNSAFE = re.compile("[^\u0020-\u007e\u00a0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """``text`` with control and non-XML characters shown as ``\\xNN`` / ``\\uNNNN`` escapes."""
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def sub(parent: Element, tag: str, text: object | None = None) -> Element:
    """Append ``<tag>text</tag>`` in the parent's namespace; ``None`` text makes an empty element."""
    namespace = etree.QName(parent).namespace
    child = etree.SubElement(parent, etree.QName(namespace, tag) if namespace else tag)
    if text is not None:
        child.text = xml_safe(str(text))
    return child


def set_junos_attr(element: Element, name: str, value: object) -> None:
    """``junos:seconds="..."`` and similar annotations."""
    element.set(etree.QName(JUNOS_NS, name), str(value))


def local_name(element: Element) -> str:
    return etree.QName(element).localname


def children(element: Element, name: str) -> list[Element]:
    """Direct children with this local name, in document order."""
    return [c for c in element if isinstance(c.tag, str) and local_name(c) == name]


def child(element: Element, name: str) -> Element | None:
    for c in element:
        if isinstance(c.tag, str) and local_name(c) == name:
            return c
    return None


def text_of(element: Element, name: str, default: str = "") -> str:
    """Text of the first child with this local name ('' for an empty element, ``default`` if absent)."""
    found = child(element, name)
    if found is None:
        return default
    return found.text or ""


def style_of(element: Element) -> str | None:
    """``junos:style``, or a bare ``style`` left by clients that strip namespace prefixes."""
    return element.get(etree.QName(JUNOS_NS, "style")) or element.get("style") or _any_style(element)


def _any_style(element: Element) -> str | None:
    # A reply from another Junos release carries another namespace URI for the junos prefix.
    for key, value in element.attrib.items():
        if etree.QName(key).localname == "style":
            return value
    return None
