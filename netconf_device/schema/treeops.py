"""Editing a configuration tree the way Junos does, on a private copy (one ``Workspace`` per load).

Children stay in schema order (list entries and leaf-list values in user order); setting a statement
removes the other cases of its choice; deleting the last child of a non-presence container removes the
container. Annotations (``<junos:comment>``) travel with the statement that follows them.
"""

from __future__ import annotations

from lxml import etree

from netconf_device.schema.errors import JUNOS_NS
from netconf_device.schema.yangmodel import SchemaModel, SchemaNode

COMMENT_TAG = f"{{{JUNOS_NS}}}comment"
INACTIVE = "inactive"


def line_of(el: etree._Element | None, lines: dict | None = None) -> int | None:
    """Input line of a statement: from a load's line table (set/text input), else the XML source line,
    else the nearest ancestor's."""
    while el is not None:
        if lines:
            line = lines.get(el)
            if line is not None:
                return line
        if el.sourceline and not lines:
            return el.sourceline
        el = el.getparent()
    return None


def is_comment(el: etree._Element) -> bool:
    return el.tag == COMMENT_TAG


def is_data(el) -> bool:
    """A configuration element (not an XML comment, PI or annotation)."""
    return isinstance(el.tag, str) and el.tag != COMMENT_TAG


def data_children(el: etree._Element):
    return [c for c in el if is_data(c)]


def is_inactive(el: etree._Element) -> bool:
    return el.get(INACTIVE) == INACTIVE


def entry_key(el: etree._Element, node: SchemaNode) -> str | None:
    key = el.find(node.key)
    return None if key is None else (key.text or "")


def comments_before(el: etree._Element) -> list[etree._Element]:
    """The annotations attached to ``el`` (the comment elements right before it)."""
    out = []
    prev = el.getprevious()
    while prev is not None and isinstance(prev.tag, str) and prev.tag == COMMENT_TAG:
        out.append(prev)
        prev = prev.getprevious()
    out.reverse()
    return out


def empty_configuration() -> etree._Element:
    return etree.Element("configuration")


class Workspace:
    """Mutable view of one private copy of a configuration tree."""

    def __init__(self, model: SchemaModel, tree: etree._Element) -> None:
        self.model = model
        self.tree = tree
        self._index: dict[tuple[etree._Element, str], dict[str, etree._Element]] = {}
        self._containers: dict[tuple[etree._Element, str], etree._Element] = {}
        self._dirty: dict[etree._Element, SchemaNode] = {}
        self._prune: list[tuple[etree._Element, SchemaNode]] = []
        # Input line of statements created by this load (lxml's sourceline is 16-bit); the dict also
        # keeps the lxml proxies used as keys alive, so their identity is stable.
        self.lines: dict[etree._Element, int] = {}
        # Child tags of the containers and list entries this workspace created, kept while only its own
        # methods add to them: a big set load asks "does the new entry have this child yet?" tens of
        # thousands of times, and lxml's tag-filtered iterator costs about 1 us per question.
        self._fresh: dict[etree._Element, set[str]] = {}

    def _absent(self, parent: etree._Element, name: str) -> bool:
        """True when ``parent`` is known to have no ``name`` child (False: it has one, or unknown)."""
        kids = self._fresh.get(parent)
        return kids is not None and name not in kids

    def _clear_conflicts_if_any(self, parent: etree._Element, node: SchemaNode) -> None:
        if node.conflicts:
            kids = self._fresh.get(parent)
            if kids is None or not kids.isdisjoint(node.conflicts):
                self.clear_conflicts(parent, node)

    # ------------------------------------------------------------------------------------ lookups
    def entries(self, parent: etree._Element, node: SchemaNode) -> dict[str, etree._Element]:
        """Key -> entry of list ``node`` under ``parent`` (built once, then kept up to date)."""
        cache_key = (parent, node.name)
        index = self._index.get(cache_key)
        if index is None:
            index = {}
            if not self._absent(parent, node.name):
                for el in parent.iterchildren(node.name):
                    index[entry_key(el, node) or ""] = el
            self._index[cache_key] = index
        return index

    def find_entry(self, parent: etree._Element, node: SchemaNode, key: str) -> etree._Element | None:
        return self.entries(parent, node).get(key)

    @staticmethod
    def find_child(parent: etree._Element, node: SchemaNode) -> etree._Element | None:
        return parent.find(node.name)

    @staticmethod
    def find_values(parent: etree._Element, node: SchemaNode) -> list[etree._Element]:
        return list(parent.iterchildren(node.name))

    def find_value(self, parent: etree._Element, node: SchemaNode, value: str) -> etree._Element | None:
        for el in parent.iterchildren(node.name):
            if (el.text or "") == value:
                return el
        return None

    # ------------------------------------------------------------------------------------ creation
    def _append(self, parent: etree._Element, parent_node: SchemaNode, node: SchemaNode) -> etree._Element:
        kids = self._fresh.get(parent)
        if kids is not None:
            kids.add(node.name)
        try:
            last = parent[-1]
        except IndexError:
            last = None
        if last is None:
            return etree.SubElement(parent, node.name)
        tag = last.tag
        if tag == node.name:
            return etree.SubElement(parent, node.name)
        last_node = parent_node.children.get(tag) if tag.__class__ is str else None
        if last_node is not None and last_node.index < node.index:
            return etree.SubElement(parent, node.name)
        # Out of schema order. A small parent gets the element at its place right away; a big one is
        # sorted once in finish() (inserting into thousands of siblings one by one would be quadratic).
        el = etree.Element(node.name)
        try:  # lxml's len() counts every child: probe the 17th instead
            parent[16]
            small = False
        except IndexError:
            small = True
        if small:
            for sibling in parent:
                sib_node = parent_node.children.get(sibling.tag) if sibling.tag.__class__ is str else None
                if sib_node is not None and sib_node.index > node.index:
                    first = comments_before(sibling)
                    (first[0] if first else sibling).addprevious(el)
                    return el
        parent.append(el)
        self._dirty[parent] = parent_node
        return el

    def clear_conflicts(self, parent: etree._Element, node: SchemaNode) -> None:
        """Remove what the other cases of ``node``'s choices hold (Junos: a set replaces the branch)."""
        for name in node.conflicts:
            other = node.parent.children[name]
            for el in list(parent.iterchildren(name)):
                self.remove(el, other, prune=False)

    def ensure_container(self, parent: etree._Element, parent_node: SchemaNode, node: SchemaNode):
        cache_key = (parent, node.name)
        el = self._containers.get(cache_key)
        if el is not None:
            return el
        el = None if self._absent(parent, node.name) else next(parent.iterchildren(node.name), None)
        if el is None:
            self._clear_conflicts_if_any(parent, node)
            el = self._append(parent, parent_node, node)
            self._fresh[el] = set()
            if not node.presence:
                self._prune.append((el, node))
        self._containers[cache_key] = el
        return el

    def ensure_entry(
        self, parent: etree._Element, parent_node: SchemaNode, node: SchemaNode, key: str
    ) -> tuple[etree._Element, bool]:
        index = self.entries(parent, node)
        el = index.get(key)
        if el is not None:
            return el, False
        self._clear_conflicts_if_any(parent, node)
        el = self._append(parent, parent_node, node)
        etree.SubElement(el, node.key).text = key
        self._fresh[el] = {node.key}
        index[key] = el
        return el, True

    def set_leaf(
        self, parent: etree._Element, parent_node: SchemaNode, node: SchemaNode, value: str | None
    ) -> etree._Element:
        el = None if self._absent(parent, node.name) else next(parent.iterchildren(node.name), None)
        if el is None:
            self._clear_conflicts_if_any(parent, node)
            el = self._append(parent, parent_node, node)
        el.text = None if node.is_empty_type else value
        return el

    def add_value(
        self, parent: etree._Element, parent_node: SchemaNode, node: SchemaNode, value: str
    ) -> tuple[etree._Element, bool]:
        last = None
        if not self._absent(parent, node.name):
            for el in parent.iterchildren(node.name):  # one pass: the value itself, else the last value
                if (el.text or "") == value:
                    return el, False
                last = el
        self._clear_conflicts_if_any(parent, node)
        if last is not None:  # keep leaf-list values together, new value last (ordered-by user)
            el = etree.Element(node.name)
            last.addnext(el)
        else:
            el = self._append(parent, parent_node, node)
        el.text = value
        return el, True

    def attach_copy(
        self, parent: etree._Element, parent_node: SchemaNode, node: SchemaNode, source: etree._Element
    ) -> etree._Element:
        """Add a deep copy of ``source`` (a whole statement) under ``parent``."""
        self.clear_conflicts(parent, node)
        el = self._append(parent, parent_node, node)
        for attr, value in source.attrib.items():
            if attr == INACTIVE and value == INACTIVE:
                el.set(attr, value)
        el.text = source.text
        for child in source:
            el.append(_clone(child))
        if node.kind == "list":
            self.entries(parent, node)[entry_key(el, node) or ""] = el
        return el

    # ------------------------------------------------------------------------------------ removal
    def remove(self, el: etree._Element, node: SchemaNode, prune: bool = True) -> None:
        parent = el.getparent()
        if parent is None:
            return
        self._fresh.pop(parent, None)  # its child tags are no longer known
        for comment in comments_before(el):
            parent.remove(comment)
        if node.kind == "list":
            index = self._index.get((parent, node.name))
            if index is not None:
                index.pop(entry_key(el, node) or "", None)
        elif node.kind == "container":
            self._containers.pop((parent, node.name), None)
        _remove_keep_tail(el)
        if prune:
            self.schedule_prune(parent, node.parent)

    def schedule_prune(self, el: etree._Element, node: SchemaNode | None) -> None:
        if node is not None and node.kind == "container" and not node.presence and node.parent is not None:
            self._prune.append((el, node))

    def rename_entry(self, el: etree._Element, node: SchemaNode, new_key: str) -> None:
        parent = el.getparent()
        index = self.entries(parent, node)
        index.pop(entry_key(el, node) or "", None)
        el.find(node.key).text = new_key
        index[new_key] = el

    def move(self, el: etree._Element, anchor: etree._Element | None, where: str) -> None:
        """Move a list entry or leaf-list value before/after ``anchor`` (or first/last of its kind)."""
        comments = comments_before(el)
        parent = el.getparent()
        siblings = [c for c in parent.iterchildren(el.tag) if c is not el]
        if where in ("first", "last"):
            if not siblings:
                return
            anchor = siblings[0] if where == "first" else siblings[-1]
            where = "before" if where == "first" else "after"
        if anchor is None or anchor is el:
            return
        if where == "before":
            first = comments_before(anchor)
            target = first[0] if first else anchor
            for item in [*comments, el]:
                target.addprevious(item)
        else:
            anchor.addnext(el)
            for comment in reversed(comments):
                el.addprevious(comment)

    # ------------------------------------------------------------------------------------ finish
    def finish(self) -> etree._Element:
        """Restore schema order where appends broke it and drop emptied non-presence containers."""
        for parent, parent_node in self._dirty.items():
            _sort_children(parent, self.model, parent_node)
        fresh = self._fresh
        for el, node in self._prune:
            if fresh.get(el):  # created here and given children, none removed since: not empty
                continue
            while node is not None and node.kind == "container" and not node.presence and node.parent:
                parent = el.getparent()
                if parent is None or any(is_data(c) for c in el):
                    break  # already gone, or still holds statements
                for comment in comments_before(el):
                    parent.remove(comment)
                _remove_keep_tail(el)
                el, node = parent, node.parent
        self._index.clear()
        self._containers.clear()
        self._dirty.clear()
        self._prune.clear()
        self._fresh.clear()
        return self.tree


def _remove_keep_tail(el: etree._Element) -> None:
    parent = el.getparent()
    if parent is not None:
        el.tail = None
        parent.remove(el)


def _clone(el: etree._Element) -> etree._Element:
    """Deep copy of ``el`` without edit attributes (only ``inactive`` survives)."""
    copy = etree.Element(el.tag) if isinstance(el.tag, str) else None
    if copy is None:
        return etree.Comment(el.text)
    if el.get(INACTIVE) == INACTIVE:
        copy.set(INACTIVE, INACTIVE)
    copy.text = el.text
    for child in el:
        if isinstance(child.tag, str):
            copy.append(_clone(child))
    return copy


def _sort_children(parent: etree._Element, model: SchemaModel, node: SchemaNode | None) -> None:
    if node is None:
        return
    groups: list[list[etree._Element]] = []
    pending: list[etree._Element] = []
    for child in parent:
        if not isinstance(child.tag, str):
            continue
        if child.tag == COMMENT_TAG:
            pending.append(child)
            continue
        groups.append([*pending, child])
        pending = []
    order = {name: child.index for name, child in node.children.items()}
    big = len(order) + 1
    groups.sort(key=lambda g: order.get(g[-1].tag, big))
    items = [el for g in groups for el in g] + pending
    for el in items:
        el.tail = None
    parent[:] = items


def sort_tree(tree: etree._Element, model: SchemaModel) -> etree._Element:
    """Put every element of ``tree`` in schema order (used for trees that come from outside)."""

    def visit(el: etree._Element, node: SchemaNode) -> None:
        _sort_children(el, model, node)
        for child in el:
            if is_data(child):
                sub = node.children.get(child.tag)
                if sub is not None and sub.is_inner:
                    visit(child, sub)

    visit(tree, model.root)
    return tree
