"""``show | compare``: Junos' hierarchical diff between two configurations.

Output, as Junos prints it: a ``[edit a b c]`` header for each place that changed, then the removed
statements prefixed ``-`` and the added ones ``+``, indented as in ``show configuration`` relative to the
header (the sign takes the first column). A statement whose only change is being (de)activated is shown
with ``!`` (``!    inactive: gateway gw { ... }``). No difference gives exactly the empty string.
"""

from __future__ import annotations

import bisect

from lxml import etree

from netconf_device.schema.textfmt import render_statements, statement_lines
from netconf_device.schema.tokens import quote
from netconf_device.schema.treeops import COMMENT_TAG, entry_key, is_inactive
from netconf_device.schema.yangmodel import SchemaModel, SchemaNode


class _Diff:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self._header: tuple[str, ...] | None = None

    def emit(self, path: tuple[str, ...], sign: str, lines: list[str]) -> None:
        if self._header != path:
            self.lines.append("[edit" + "".join(" " + quote(w) for w in path) + "]")
            self._header = path
        for line in lines:
            # statement_lines indents by 4 per level from depth 1; the sign replaces the first column
            self.lines.append(sign + line[1:])


def _statements(el: etree._Element, node: SchemaNode):
    """Children of ``el`` keyed by identity: ('c', name) | ('e', name, key) | ('l', name)."""
    out: dict[tuple, tuple[SchemaNode, list[etree._Element]]] = {}
    for child in el:
        if not isinstance(child.tag, str) or child.tag == COMMENT_TAG:
            continue
        if node.kind == "list" and child.tag == node.key:
            continue
        sub = node.children.get(child.tag)
        if sub is None:
            continue
        if sub.kind == "list":
            ident = ("e", sub.name, entry_key(child, sub))
        elif sub.kind == "leaf-list":
            ident = ("l", sub.name)
        else:
            ident = ("c", sub.name)
        out.setdefault(ident, (sub, []))[1].append(child)
    return out


def _signature(el: etree._Element) -> bytes:
    """Serialisation of a statement: equal means no difference below it. (Unequal only because of
    whitespace or annotations just costs a descent that then prints nothing.)"""
    return etree.tostring(el, with_tail=False)


def _strip(el: etree._Element) -> etree._Element:
    copy = etree.Element(el.tag)
    if is_inactive(el):
        copy.set("inactive", "inactive")
    copy.text = el.text
    for child in el:
        if isinstance(child.tag, str) and child.tag != COMMENT_TAG:
            copy.append(_strip(child))
    return copy


def _lines(els: list[etree._Element], node: SchemaNode, depth: int) -> list[str]:
    if node.kind == "leaf-list":
        holder = etree.Element("holder")  # a parent holding just this leaf-list
        for el in els:
            holder.append(_strip(el))
        out: list[str] = []
        render_statements(holder, node.parent, depth, out)
        return out
    return [line for el in els for line in statement_lines(el, node, depth)]


def _toggle_lines(el: etree._Element, node: SchemaNode, depth: int) -> list[str]:
    """``inactive: gateway gw { ... }`` / ``active: ...`` for a statement whose activation changed."""
    word = "inactive: " if is_inactive(el) else "active: "
    plain = _strip(el)
    plain.attrib.pop("inactive", None)
    if node.kind == "leaf-list":
        first = _lines([plain], node, depth)[0]
    else:
        first = statement_lines(plain, node, depth)[0]
    pad = first[: len(first) - len(first.lstrip())]
    body = first.strip()
    if body.endswith("{"):
        body += " ... }"
    return [pad + word + body]


def _entry_words(sub: SchemaNode, ident: tuple) -> tuple[str, ...]:
    if sub.kind == "container":
        return (sub.name,)
    return (ident[2],) if sub.nokeyword else (sub.name, ident[2])


def _diff(old: etree._Element, new: etree._Element, node: SchemaNode, path: tuple[str, ...], out: _Diff) -> None:
    before = _statements(old, node)
    after = _statements(new, node)
    for name, sub in node.children.items():  # schema order; per list: removals, then new order
        if node.kind == "list" and name == node.key:
            continue
        for ident, (_, els) in before.items():
            if ident[1] == name and ident not in after:
                out.emit(path, "-", _lines(els, sub, 1))
        for ident, (_, new_els) in after.items():
            if ident[1] != name:
                continue
            if ident not in before:
                out.emit(path, "+", _lines(new_els, sub, 1))
                continue
            _changed(before[ident][1], new_els, sub, ident, path, out)
    _order_changes(before, after, node, path, out)


def _changed(old_els, new_els, sub: SchemaNode, ident, path, out: _Diff) -> None:
    if sub.kind == "leaf-list":
        old_values = [e.text for e in old_els]
        if old_values == [e.text for e in new_els]:
            toggled = [n for o, n in zip(old_els, new_els, strict=True) if is_inactive(o) != is_inactive(n)]
            for el in toggled:
                out.emit(path, "!", _toggle_lines(el, sub, 1))
            return
        out.emit(path, "-", _lines(old_els, sub, 1))
        out.emit(path, "+", _lines(new_els, sub, 1))
        return
    o, n = old_els[0], new_els[0]
    if _signature(o) == _signature(n):
        return
    if is_inactive(o) != is_inactive(n):
        o_plain, n_plain = _strip(o), _strip(n)
        o_plain.attrib.pop("inactive", None)
        n_plain.attrib.pop("inactive", None)
        if _signature(o_plain) == _signature(n_plain):
            out.emit(path, "!", _toggle_lines(n, sub, 1))
            return
        out.emit(path, "-", _lines(old_els, sub, 1))
        out.emit(path, "+", _lines(new_els, sub, 1))
        return
    one_line = sub.kind == "leaf" or sub.oneliner or (
        sub.oneliner_plus and (len(statement_lines(o, sub, 1)) == 1 or len(statement_lines(n, sub, 1)) == 1)
    )
    if one_line:
        out.emit(path, "-", _lines(old_els, sub, 1))
        out.emit(path, "+", _lines(new_els, sub, 1))
        return
    _diff(o, n, sub, path + _entry_words(sub, ident), out)


def _order_changes(before, after, node: SchemaNode, path, out: _Diff) -> None:
    """Entries of an ordered-by-user list that kept their content but changed places."""
    for name, sub in node.children.items():
        if sub.kind != "list" or not sub.ordered_by_user:
            continue
        old_keys = [k[2] for k in before if k[0] == "e" and k[1] == name and k in after]
        new_keys = [k[2] for k in after if k[0] == "e" and k[1] == name and k in before]
        if old_keys == new_keys:
            continue
        for key in _moved(old_keys, new_keys):
            el = after[("e", name, key)][1][0]
            lines = statement_lines(_strip(el), sub, 1)
            body = lines[0].strip()
            if body.endswith("{"):
                body += " ... }"
            out.emit(path, "!", [lines[0][: len(lines[0]) - len(lines[0].lstrip())] + body])


def _moved(old: list[str], new: list[str]) -> list[str]:
    """Keys off a longest increasing run of old positions in the new order (the ones that moved)."""
    position = {key: i for i, key in enumerate(old)}
    seq = [position[k] for k in new]
    tails: list[int] = []  # tails[i]: index in seq of the smallest tail of a run of length i + 1
    tail_values: list[int] = []
    back = [-1] * len(seq)
    for i, value in enumerate(seq):
        j = bisect.bisect_left(tail_values, value)
        if j:
            back[i] = tails[j - 1]
        if j == len(tails):
            tails.append(i)
            tail_values.append(value)
        else:
            tails[j] = i
            tail_values[j] = value
    keep: set[str] = set()
    i = tails[-1] if tails else -1
    while i >= 0:
        keep.add(new[i])
        i = back[i]
    return [k for k in new if k not in keep]


def compare(model: SchemaModel, old: etree._Element, new: etree._Element) -> str:
    out = _Diff()
    _diff(old, new, model.root, (), out)
    return "".join(line + "\n" for line in out.lines)
