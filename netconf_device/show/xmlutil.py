"""Small lxml helpers shared by the reply builders and the text renderers.

Builders create namespace-qualified elements exactly once (the reply's top element declares the ``junos``
prefix, and the default area namespace where Junos uses one). Renderers look children up by *local name*,
so they work on replies with or without namespaces (clients such as Toby and PyEZ strip them).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence

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
    if text.isascii() and text.isprintable():  # the common case, decided in C: printable ASCII is safe
        return text
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def sub(parent: Element, tag: str, text: object | None = None) -> Element:
    """Append ``<tag>text</tag>`` in the parent's namespace; ``None`` text makes an empty element.

    Called about 30 times per tunnel by the listings (60,000 times for 2000 tunnels), hence the string
    operations instead of ``etree.QName``."""
    parent_tag = parent.tag
    if parent_tag[0] == "{":
        tag = parent_tag[: parent_tag.index("}") + 1] + tag
    child = etree.SubElement(parent, tag)
    if text is not None:
        child.text = str(text) if type(text) is int else xml_safe(str(text))
    return child


class LeafRow:
    """An element with a fixed sequence of leaves (``<ipsec-security-associations>`` of the brief listing),
    stamped from a template: about four times cheaper than one :func:`sub` per leaf, which matters for
    listings of thousands of rows. ``None`` values leave a leaf empty, as ``sub`` does."""

    def __init__(self, tag: str, leaves: Sequence[str]) -> None:
        self.tag = tag
        self.leaves = tuple(leaves)
        self._templates: dict[str, Element] = {}  # parent namespace ("" for none) -> template

    def add(self, parent: Element, values: Sequence[object]) -> Element:
        if len(values) != len(self.leaves):
            raise ValueError(f"{self.tag}: {len(self.leaves)} leaves, {len(values)} values")
        parent_tag = parent.tag
        namespace = parent_tag[: parent_tag.index("}") + 1] if parent_tag[0] == "{" else ""
        template = self._templates.get(namespace)
        if template is None:
            template = self._templates[namespace] = etree.Element(namespace + self.tag)
            for leaf in self.leaves:
                etree.SubElement(template, namespace + leaf)
        row = copy.copy(template)
        parent.append(row)
        for leaf, value in zip(row, values, strict=True):
            if value is not None:
                leaf.text = str(value) if type(value) is int else xml_safe(str(value))
        return row


def set_junos_attr(element: Element, name: str, value: object) -> None:
    """``junos:seconds="..."`` and similar annotations."""
    element.set(etree.QName(JUNOS_NS, name), str(value))


def local_name(element: Element) -> str:
    return element.tag.rpartition("}")[2]


# The lookups below match in lxml's C code ("{*}name": the local name in any namespace or none);
# iterchildren() with a tag skips the ElementPath parser that find() and findtext() go through.
def children(element: Element, name: str) -> list[Element]:
    """Direct children with this local name, in document order."""
    return list(element.iterchildren("{*}" + name))


def child(element: Element, name: str) -> Element | None:
    return next(element.iterchildren("{*}" + name), None)


def text_of(element: Element, name: str, default: str = "") -> str:
    """Text of the first child with this local name ('' for an empty element, ``default`` if absent)."""
    for found in element.iterchildren("{*}" + name):
        return found.text or ""
    return default


def texts(element: Element) -> dict[str, str]:
    """Local name -> text of the direct children, first occurrence winning (one pass for a whole row)."""
    out: dict[str, str] = {}
    for c in element:
        tag = c.tag
        if isinstance(tag, str):
            out.setdefault(tag.rpartition("}")[2], c.text or "")
    return out


def style_of(element: Element) -> str | None:
    """``junos:style``, or a bare ``style`` left by clients that strip namespace prefixes."""
    return element.get(etree.QName(JUNOS_NS, "style")) or element.get("style") or _any_style(element)


def _any_style(element: Element) -> str | None:
    # A reply from another Junos release carries another namespace URI for the junos prefix.
    for key, value in element.attrib.items():
        if etree.QName(key).localname == "style":
            return value
    return None
