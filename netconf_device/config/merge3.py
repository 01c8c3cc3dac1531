"""Three-way merge of Junos XML configurations, for commits from a private candidate.

A private candidate is a copy of the running configuration taken when the session opened it (``base``).
When it commits, the running configuration may have moved on. The session's own changes (``base`` ->
``private``) are applied to the current ``running``; a statement changed differently on both sides is a
conflict, reported with its ``[edit ...]`` path, and nothing is committed.

Identity of a child element, in Junos XML terms: a list entry is ``(tag, <name> text)``; a container is
``(tag,)``; childless elements of one tag (leaves, leaf-lists, empty leaves, empty presence containers)
form one value, so a leaf-list is merged as a whole, in its order.
"""

from __future__ import annotations

import copy

from lxml import etree

from netconf_device.config.errors import DatastoreError, Problem, problem

_NODE, _LEAVES = "node", "leaves"
CONFLICT_MESSAGE = "statement changed by another commit since the private candidate was opened"


def merge3(base: etree._Element, private: etree._Element, running: etree._Element) -> etree._Element:
    """The running configuration with the private changes applied; ``DatastoreError`` listing conflicts."""
    conflicts: list[Problem] = []
    merged = _merge(base, private, running, [], conflicts)
    if conflicts:
        raise DatastoreError(conflicts)
    return merged


def _key_of(child: etree._Element) -> tuple:
    if len(child) == 0:
        return (_LEAVES, child.tag)
    name = child.find("name")
    if name is not None and name is not child:
        return (_NODE, child.tag, (name.text or "").strip())
    return (_NODE, child.tag)


def _children(element: etree._Element | None) -> dict[tuple, object]:
    """key -> element (node) or tuple of elements (leaves of one tag), in document order."""
    result: dict[tuple, object] = {}
    if element is None:
        return result
    for child in element:
        if not isinstance(child.tag, str):  # comments, processing instructions
            continue
        key = _key_of(child)
        if key[0] == _LEAVES:
            result[key] = (*result.get(key, ()), child)
        else:
            result[key] = child
    return result


def _canon(value) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, tuple):
        return b"".join(etree.tostring(e, with_tail=False) for e in value)
    return etree.tostring(value, with_tail=False)


def _label(key: tuple) -> str:
    return key[1] if len(key) == 2 else f"{key[1]} {key[2]}"


def _merge(base, private, running, path: list[str], conflicts: list[Problem]) -> etree._Element:
    result = etree.Element(running.tag, _merge_attrib(base, private, running))
    b, p, r = _children(base), _children(private), _children(running)
    order = list(r) + [k for k in p if k not in r]
    for key in order:
        vb, vp, vr = b.get(key), p.get(key), r.get(key)
        cb, cp, cr = _canon(vb), _canon(vp), _canon(vr)
        if cp == cb:
            chosen = vr
        elif cr == cb or cp == cr:
            chosen = vp
        elif key[0] == _NODE and vb is not None and vp is not None and vr is not None:
            chosen = _merge(vb, vp, vr, [*path, _label(key)], conflicts)
            result.append(chosen)
            continue
        else:
            conflicts.append(problem(CONFLICT_MESSAGE, edit_path=path, statement=_label(key), error_tag="in-use"))
            chosen = vr
        for element in chosen if isinstance(chosen, tuple) else ([chosen] if chosen is not None else []):
            clone = copy.deepcopy(element)
            clone.tail = None
            result.append(clone)
    if len(result) == 0 and (running.text or private.text):
        result.text = private.text if (private.text != (base.text if base is not None else None)) else running.text
    return result


def _merge_attrib(base, private, running) -> dict:
    ab = dict(base.attrib) if base is not None else {}
    ap, ar = dict(private.attrib), dict(running.attrib)
    return ar if ap == ab else ap
