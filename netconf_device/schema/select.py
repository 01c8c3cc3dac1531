"""Subtree selection for ``<get-configuration>`` / ``<get-config>`` filters.

``<configuration><system><domain-name/></system></configuration>`` selects that leaf; an empty element
selects its whole sub-tree; a list element with only ``<name>X</name>`` selects entry X (without
``<name>`` or with an empty one: every entry); a leaf with text selects it only when the value matches, and
in a list element it also restricts the entries to those where it matches (RFC 6241 content match nodes);
other children of a list element select inside the matching entries. The result is a new ``<configuration>`` in schema order.
"""

from __future__ import annotations

import copy

from lxml import etree

from netconf_device.schema.treeops import (
    COMMENT_TAG,
    INACTIVE,
    comments_before,
    entry_key,
    is_data,
    sort_tree,
)
from netconf_device.schema.xmlfmt import parse_xml
from netconf_device.schema.yangmodel import SchemaModel, SchemaNode


def _copy_with_comments(src: etree._Element, dst_parent: etree._Element) -> etree._Element:
    for comment in comments_before(src):
        dst_parent.append(copy.deepcopy(comment))
    el = copy.deepcopy(src)
    el.tail = None
    dst_parent.append(el)
    return el


def _shell(src: etree._Element, dst_parent: etree._Element, node: SchemaNode) -> etree._Element:
    el = etree.SubElement(dst_parent, src.tag)
    if src.get(INACTIVE) == INACTIVE:
        el.set(INACTIVE, INACTIVE)
    if node.kind == "list":
        etree.SubElement(el, node.key).text = entry_key(src, node)
    return el


def _select(src: etree._Element, node: SchemaNode, flt: etree._Element, dst: etree._Element) -> None:
    wanted = [f for f in flt if is_data(f)]
    if not wanted:
        for child in src:
            if isinstance(child.tag, str) and child.tag != COMMENT_TAG:
                _copy_with_comments(child, dst)
        return
    for f in wanted:
        sub = node.children.get(f.tag)
        if sub is None or (node.kind == "list" and f.tag == node.key):
            continue
        value = (f.text or "").strip()
        if sub.kind == "list":
            key = (f.findtext(sub.key) or "").strip() or None  # <name/> selects every entry
            inner = [c for c in f if is_data(c) and c.tag != sub.key]
            matches = _content_matches(sub, inner)
            for entry in src.iterchildren(sub.name):
                if key is not None and entry_key(entry, sub) != key:
                    continue
                if not all(any((v.text or "") == value for v in entry.iterchildren(tag)) for tag, value in matches):
                    continue  # RFC 6241 6.2.5: an entry is selected only when every content match node matches
                if not inner:
                    _copy_with_comments(entry, dst)
                else:
                    shell = _shell(entry, dst, sub)
                    probe = etree.Element(f.tag)
                    probe.extend(copy.deepcopy(c) for c in inner)
                    _select(entry, sub, probe, shell)
        elif sub.kind == "container":
            child = src.find(sub.name)
            if child is None:
                continue
            if not any(is_data(c) for c in f):
                _copy_with_comments(child, dst)
            else:
                shell = _shell(child, dst, sub)
                _select(child, sub, f, shell)
                if not any(is_data(c) for c in shell) and not sub.presence:
                    dst.remove(shell)
        else:
            for child in src.iterchildren(sub.name):
                if not value or (child.text or "") == value:
                    _copy_with_comments(child, dst)


def _content_matches(node: SchemaNode, children: list[etree._Element]) -> list[tuple[str, str]]:
    """(leaf, value) of the content match nodes among a filter's children: leaves given with a value."""
    found = []
    for child in children:
        sub = node.children.get(child.tag)
        value = (child.text or "").strip()
        if sub is not None and sub.kind in ("leaf", "leaf-list") and value and not len(child):
            found.append((child.tag, value))
    return found


def select(model: SchemaModel, tree: etree._Element, filter_element: etree._Element | str | bytes) -> etree._Element:
    flt = parse_xml(filter_element)
    out = etree.Element("configuration")
    _select(tree, model.root, flt, out)
    return sort_tree(out, model)
