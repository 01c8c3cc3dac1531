"""Applying a Junos XML configuration (with edit attributes) to a workspace: ``load merge|replace``.

Attributes honoured, as Junos and NETCONF define them: ``operation`` = merge | replace | create | delete |
remove (NETCONF: create on an existing statement is ``data-exists``, delete of a missing one
``data-missing``; an element without ``operation`` inherits its parent's, starting from the edit's
default operation, and ``none`` only walks to the statements that carry an operation of their own),
``delete="delete"`` (Junos: a missing statement is only a warning), ``replace="replace"``,
``active="active"``, ``inactive="inactive"``, ``insert="before|after|first|last"`` with ``name=`` (Junos) or
``key="[name='x']"`` / ``value=`` (YANG), and ``rename="rename"`` with ``name=`` (the new key).
"""

from __future__ import annotations

import re

from lxml import etree

from netconf_device.schema.errors import ConfigError
from netconf_device.schema.tokens import Token
from netconf_device.schema.treeops import (
    COMMENT_TAG,
    INACTIVE,
    Workspace,
    comments_before,
    line_of,
)
from netconf_device.schema.walker import WalkError, kept_secret, secret_value
from netconf_device.schema.yangmodel import SchemaNode

_KEY_PREDICATE = re.compile(r"""\[\s*[\w.-]+\s*=\s*(['"])(.*?)\1\s*\]""")


_OPERATIONS = ("merge", "replace", "create", "delete", "remove")
_CREATING = frozenset({"merge", "replace", "create"})


def explicit_operation(el: etree._Element) -> str | None:
    """The edit operation ``el`` names itself (None: it inherits its parent's)."""
    op = el.get("operation")
    if op in _OPERATIONS:
        return op
    if el.get("delete") == "delete":
        return "junos-delete"
    if el.get("replace") == "replace":
        return "replace"
    return None


def operation_of(el: etree._Element, inherited: str = "merge") -> str:
    return explicit_operation(el) or inherited


def _operations_below(patch: etree._Element) -> set[str]:
    return {op for el in patch.iter() if isinstance(el.tag, str) and (op := explicit_operation(el))}


def normalize_comment(text: str) -> str:
    text = (text or "").strip()
    if text.startswith("/*") and text.endswith("*/"):
        return text
    return f"/* {text} */"


def set_annotation(el: etree._Element, comments: list[str]) -> None:
    """Make ``comments`` the annotations of ``el`` (replacing the ones it had)."""
    parent = el.getparent()
    for old in comments_before(el):
        parent.remove(old)
    for text in comments:
        if not text.strip():
            continue  # Junos: an empty annotation removes the comment
        comment = etree.Element(COMMENT_TAG)
        comment.text = normalize_comment(text)
        el.addprevious(comment)


class Merger:
    """``default_operation``: NETCONF's ``<default-operation>`` (merge, replace, none); elements without an
    operation of their own inherit their parent's."""

    def __init__(self, ws: Workspace, errors: list[ConfigError], warnings: list[ConfigError],
                 default_operation: str = "merge") -> None:
        self.ws = ws
        self.errors = errors
        self.warnings = warnings
        self.default_operation = default_operation

    # ------------------------------------------------------------------------------------ reporting
    def _error(self, message, path, statement, el=None, tag="invalid-value", etype="protocol") -> None:
        self.errors.append(
            ConfigError(
                message=message,
                edit_path=tuple(path),
                statement=statement,
                error_type=etype,
                error_tag=tag,
                line=line_of(el),
            )
        )

    def _not_found(self, op: str, path, statement, el) -> None:
        if op == "delete":  # NETCONF semantics
            self._error("statement not found", path, statement, el, tag="data-missing", etype="application")
        elif op == "junos-delete":
            self.warnings.append(
                ConfigError(
                    message="statement not found",
                    edit_path=tuple(path),
                    statement=statement,
                    severity="warning",
                    error_type="application",
                    error_tag="data-missing",
                )
            )

    # ------------------------------------------------------------------------------------ walk
    def merge(self, base: etree._Element, node: SchemaNode, patch: etree._Element, path: list[str],
              inherited: str | None = None) -> None:
        inherited = inherited or self.default_operation
        comments: list[str] = []
        for child in patch:
            if not isinstance(child.tag, str):
                continue
            if child.tag == COMMENT_TAG:
                comments.append(child.text or "")
                continue
            if node.kind == "list" and child.tag == node.key:
                continue
            sub = node.children.get(child.tag)
            if sub is None:
                self._error("syntax error", path, child.tag, child)
                comments = []
                continue
            op = operation_of(child, inherited)
            try:
                if sub.kind == "leaf":
                    self._leaf(base, node, sub, child, path, comments, op)
                elif sub.kind == "leaf-list":
                    self._leaf_list(base, node, sub, child, path, comments, op)
                elif sub.kind == "container":
                    self._container(base, node, sub, child, path, comments, op)
                else:
                    self._list(base, node, sub, child, path, comments, op)
            except WalkError as exc:
                self._error(exc.message, path, exc.bad_element, child)
            comments = []

    @staticmethod
    def _activation(el: etree._Element, patch: etree._Element) -> None:
        if patch.get("inactive") == "inactive":
            el.set(INACTIVE, INACTIVE)
        elif patch.get("active") == "active":
            el.attrib.pop(INACTIVE, None)

    def _finish_statement(self, el, patch, comments) -> None:
        self._activation(el, patch)
        if comments:
            set_annotation(el, comments)

    def _leaf(self, base, node, sub, patch, path, comments, op) -> None:
        if op == "none":  # <default-operation>none: a leaf without an operation only selects
            return
        raw = patch.text.strip() if patch.text is not None else ""
        existing = base.find(sub.name)
        statement = sub.name if sub.is_empty_type or not raw else f"{sub.name} {raw}"
        if op in ("delete", "remove", "junos-delete"):
            if existing is None:
                self._not_found(op, path, statement, patch)
            else:
                self.ws.remove(existing, sub)
            return
        if op == "create" and existing is not None:
            self._error("statement already exists", path, statement, patch, "data-exists", "application")
            return
        toggles = patch.get("inactive") == "inactive" or patch.get("active") == "active"
        if not sub.is_empty_type and not raw:
            if toggles or comments:  # <host-name inactive="inactive"/>: (de)activate what is there
                if existing is None:
                    self._not_found("junos-delete", path, statement, patch)
                else:
                    self._finish_statement(existing, patch, comments)
                return
            raise WalkError("missing argument", None, sub.name)
        if sub.is_empty_type and raw:
            raise WalkError("syntax error", None, raw)
        if sub.is_empty_type and toggles and existing is not None:
            self._finish_statement(existing, patch, comments)
            return
        value = None
        if not sub.is_empty_type:
            value = (sub.obfuscate9 and kept_secret(existing, raw)) or secret_value(sub, raw, Token("word", raw, 0, 0))
        el = self.ws.set_leaf(base, node, sub, value)
        self._finish_statement(el, patch, comments)

    def _leaf_list(self, base, node, sub, patch, path, comments, op) -> None:
        if op == "none":
            return
        raw = patch.text.strip() if patch.text is not None else ""
        statement = f"{sub.name} {raw}" if raw else sub.name
        if op in ("delete", "remove", "junos-delete"):
            found = (
                [self.ws.find_value(base, sub, raw)] if raw else self.ws.find_values(base, sub)
            )
            found = [f for f in found if f is not None]
            if not found:
                self._not_found(op, path, statement, patch)
            for el in found:
                self.ws.remove(el, sub)
            return
        if not raw:
            raise WalkError("missing argument", None, sub.name)
        existing = self.ws.find_value(base, sub, raw)
        if op == "create" and existing is not None:
            self._error("statement already exists", path, statement, patch, "data-exists", "application")
            return
        el, _ = self.ws.add_value(base, node, sub, raw)
        where = patch.get("insert")
        if where:
            ref = patch.get("name") or patch.get("value")
            anchor = self.ws.find_value(base, sub, ref) if ref is not None else None
            if where in ("before", "after") and anchor is None:
                self._error("statement not found", path, f"{sub.name} {ref}", patch, "data-missing")
            else:
                self.ws.move(el, anchor, where)
        self._finish_statement(el, patch, comments)

    def _absent_under_none(self, patch, path, statement) -> bool:
        """``none`` reached a statement that is not configured: walk on (creating it) only if something
        below creates; a ``delete`` below is ``data-missing``; anything else changes nothing."""
        below = _operations_below(patch)
        if below & _CREATING:
            return False
        if "delete" in below:
            self._not_found("delete", path, statement, patch)
        return True

    def _container(self, base, node, sub, patch, path, comments, op) -> None:
        existing = base.find(sub.name)
        if op == "none" and existing is None and self._absent_under_none(patch, path, sub.name):
            return
        if op in ("delete", "remove", "junos-delete"):
            if existing is None:
                self._not_found(op, path, sub.name, patch)
            else:
                self.ws.remove(existing, sub)
            return
        if op == "create" and existing is not None:
            self._error("statement already exists", path, sub.name, patch, "data-exists", "application")
            return
        if op == "replace" and existing is not None:
            self.ws.remove(existing, sub, prune=False)
        el = self.ws.ensure_container(base, node, sub)
        self.merge(el, sub, patch, [*path, sub.name], op)
        self._finish_statement(el, patch, comments)

    def _list(self, base, node, sub, patch, path, comments, op) -> None:
        key_el = patch.find(sub.key)
        key = key_el.text.strip() if key_el is not None and key_el.text is not None else None
        if key is None or key == "":
            if op in ("delete", "remove", "junos-delete") and len(patch) == 0:
                entries = list(base.iterchildren(sub.name))  # <gateway delete="delete"/>: all of them
                if not entries:
                    self._not_found(op, path, sub.name, patch)
                for el in entries:
                    self.ws.remove(el, sub)
                return
            raise WalkError("missing argument", None, sub.name)
        label = key if sub.nokeyword else f"{sub.name} {key}"
        existing = self.ws.find_entry(base, sub, key)
        if op == "none" and existing is None and self._absent_under_none(patch, path, label):
            return
        if op in ("delete", "remove", "junos-delete"):
            if existing is None:
                self._not_found(op, path, label, patch)
            else:
                self.ws.remove(existing, sub)
            return
        if patch.get("rename") == "rename":
            new_key = patch.get("name")
            if existing is None:
                self._error("statement not found", path, label, patch, "data-missing", "application")
            elif not new_key:
                raise WalkError("missing argument", None, "rename")
            elif self.ws.find_entry(base, sub, new_key) is not None:
                self._error(
                    f"{new_key} already exists", path, label, patch, "data-exists", "application"
                )
            else:
                self.ws.rename_entry(existing, sub, new_key)
            return
        if op == "create" and existing is not None:
            self._error("statement already exists", path, label, patch, "data-exists", "application")
            return
        successor = None
        if op == "replace" and existing is not None:
            successor = next(existing.itersiblings(sub.name), None)
            self.ws.remove(existing, sub, prune=False)
        el, _ = self.ws.ensure_entry(base, node, sub, key)
        if successor is not None:
            self.ws.move(el, successor, "before")
        where = patch.get("insert")
        if where:
            ref = patch.get("name")
            if ref is None and patch.get("key"):
                match = _KEY_PREDICATE.search(patch.get("key"))
                ref = match.group(2) if match else None
            anchor = self.ws.find_entry(base, sub, ref) if ref is not None else None
            if where in ("before", "after") and anchor is None:
                self._error("statement not found", path, f"{sub.name} {ref}", patch, "data-missing")
            else:
                self.ws.move(el, anchor, where)
        self.merge(el, sub, patch, [*path, *([] if sub.nokeyword else [sub.name]), key], op)
        self._finish_statement(el, patch, comments)
