"""The ``Schema`` object: one per process, built from ``yang/`` on first use (see the package docstring)."""

from __future__ import annotations

import copy
import functools
import logging
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from netconf_device.schema import compare as compare_mod
from netconf_device.schema import select as select_mod
from netconf_device.schema.errors import ConfigError, LoadError, in_input_order
from netconf_device.schema.gcpause import collector_paused
from netconf_device.schema.jsonfmt import parse_json, render_json
from netconf_device.schema.merge import Merger
from netconf_device.schema.rules import run_rules
from netconf_device.schema.setfmt import SetExecutor, render_set, render_set_statement, statement_words
from netconf_device.schema.textfmt import read_text, render_text
from netconf_device.schema.tokens import Token, TokenizeError, tokenize
from netconf_device.schema.treeops import Workspace, empty_configuration, entry_key
from netconf_device.schema.validate import Validator, without_inactive
from netconf_device.schema.walker import WalkError, find, parse_path
from netconf_device.schema.xmlfmt import parse_xml, render_xml
from netconf_device.schema.yangmodel import SchemaModel

log = logging.getLogger("netconf_device.schema")

FORMATS = ("xml", "text", "set", "json")
LOAD_ACTIONS = ("merge", "replace", "override", "update", "set")


@dataclass(frozen=True)
class YangModule:
    """One YANG module, as NETCONF ``get-schema`` and ietf-netconf-monitoring report it."""

    name: str
    revision: str
    namespace: str
    prefix: str
    text: str


@dataclass
class LoadResult:
    tree: etree._Element  # the new configuration (the base is never modified)
    warnings: list[ConfigError] = field(default_factory=list)


def _as_text(data: str | bytes | etree._Element) -> str:
    if isinstance(data, bytes):
        return data.decode("utf-8", errors="replace")
    if isinstance(data, str):
        return data
    raise LoadError([ConfigError(message="expected text input", error_type="protocol")])


class Schema:
    """Junos configuration schema: parse, load, validate, render, compare, select."""

    def __init__(self, yang_dir: Path | None = None) -> None:
        self.model = SchemaModel(yang_dir)
        self.validator = Validator(self.model)
        self._modules = [
            YangModule(m.name, m.revision, m.namespace, m.prefix, m.text) for m in self.model.modules
        ]

    # ------------------------------------------------------------------------------------ schema
    @property
    def modules(self) -> list[YangModule]:
        return list(self._modules)

    def empty(self) -> etree._Element:
        return empty_configuration()

    # ------------------------------------------------------------------------------------ loading
    def parse(self, data: str | bytes | etree._Element, fmt: str) -> etree._Element:
        """A configuration in any format as a tree (like loading it into an empty candidate)."""
        return self.load(self.empty(), data, fmt, "set" if fmt == "set" else "merge").tree

    def load(
        self,
        base: etree._Element,
        data: str | bytes | etree._Element,
        fmt: str = "xml",
        action: str = "merge",
        path: str | list[str] | None = None,
        default_operation: str = "merge",
    ) -> LoadResult:
        """``default_operation`` (xml, text, json): NETCONF's ``<default-operation>`` for elements without an
        ``operation`` attribute -- "merge", or "none" (only statements with an operation change)."""
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}")
        if action not in LOAD_ACTIONS:
            raise ValueError(f"unknown load action {action!r}")
        with collector_paused():
            return self._load(base, data, fmt, action, path, default_operation)

    def _load(self, base, data, fmt: str, action: str, path, default_operation: str) -> LoadResult:
        if fmt == "set" or action == "set":
            return self._load_set(base, _as_text(data), self._path_words(path))
        if path and fmt in ("xml", "json"):
            raise LoadError([ConfigError(message="a relative load takes text or set input", error_type="protocol",
                                         error_tag="operation-not-supported")])
        patch_lines: dict | None = None
        if fmt == "xml":
            patch = parse_xml(data)
        elif fmt == "text":
            patch, patch_lines, syntax = read_text(self.model, _as_text(data), self._path_words(path))
            if syntax:  # the statements that were read are checked too: one load reports every bad one
                raise LoadError(in_input_order(syntax + self.validator.typecheck(patch, patch_lines)))
        else:
            patch = parse_json(self.model, _as_text(data))
        start = self.empty() if action in ("override", "update") else copy.deepcopy(base)
        ws = Workspace(self.model, start)
        errors: list[ConfigError] = []
        warnings: list[ConfigError] = []
        Merger(ws, errors, warnings, default_operation).merge(start, self.model.root, patch, [])
        if not errors:
            errors = self.validator.typecheck(patch, patch_lines)
        if errors:
            raise LoadError(errors)
        return LoadResult(ws.finish(), warnings)

    def _load_set(self, base: etree._Element, text: str, start: list[Token] | None) -> LoadResult:
        ws = Workspace(self.model, copy.deepcopy(base))
        # Loading into an empty configuration, the result is what the lines set: type-check it directly.
        # Otherwise mirror the set lines into a patch, so the check costs the input, not the configuration.
        patch_ws = Workspace(self.model, self.empty()) if any(True for _ in base.iterchildren()) else None
        try:
            executor = SetExecutor(ws, patch_ws, start)
        except WalkError as exc:
            raise LoadError(
                [ConfigError(message=exc.message, statement=exc.bad_element, error_type="protocol")]
            ) from exc
        executor.run(text)
        if patch_ws is None:  # the lines made the whole configuration: check it in its final form
            tree = ws.finish()
            errors = executor.errors + self.validator.typecheck(tree, ws.lines, clean=executor.clean,
                                                                whole=not executor.errors)
        else:
            errors = executor.errors + self.validator.typecheck(patch_ws.tree, patch_ws.lines,
                                                                clean=executor.clean)
        if errors:
            raise LoadError(in_input_order(errors))
        return LoadResult(ws.finish() if patch_ws is not None else tree, executor.warnings)

    # ------------------------------------------------------------------------------------ validation
    def validate(self, tree: etree._Element) -> list[ConfigError]:
        """Every commit error of ``tree`` ([] when it may be committed)."""
        with collector_paused():
            active = without_inactive(tree)
            errors = self.validator.validate(active, active=True)
            errors.extend(run_rules(active, self.model))
        return errors

    # ------------------------------------------------------------------------------------ output
    def _path_words(self, path: str | list[str] | None) -> list[Token] | None:
        if path is None or path == "" or path == []:
            return None
        if isinstance(path, str):
            try:
                return [t for t in tokenize(path) if t.kind in ("word", "[", "]")]
            except TokenizeError as exc:
                raise LoadError([ConfigError(message=exc.message, statement=exc.token)]) from exc
        return [Token("word", w, 1, i + 1) for i, w in enumerate(path)]

    def locate(self, tree: etree._Element, path: str | list[str] | None):
        """(elements, schema node, ancestors) named by an edit path, or None when it is not configured.
        ``ancestors`` is [(element, schema node), ...] from the root's child down to the parent."""
        words = self._path_words(path)
        if not words:
            return [tree], self.model.root, []
        try:
            segments, end = parse_path(self.model.root, words, 0, need_values=False, continue_after_leaf=False)
        except WalkError as exc:
            raise LoadError([ConfigError(message=exc.message, statement=exc.bad_element)]) from exc
        if end != len(words):
            raise LoadError([ConfigError(message="syntax error", statement=words[end].text)])
        ws = Workspace(self.model, tree)
        found = find(ws, tree, self.model.root, segments)
        if found is None:
            return None
        elements, node = found
        ancestors = []
        parent = elements[0].getparent()
        while parent is not None and parent is not tree:
            ancestors.append(parent)
            parent = parent.getparent()
        ancestors.reverse()
        return elements, node, ancestors

    def render(
        self,
        tree: etree._Element,
        fmt: str,
        path: str | list[str] | None = None,
        relative: bool = False,
        junos_ns: str | None = None,
    ) -> str:
        """``show configuration [path]`` in ``fmt``; ``relative`` gives ``| display set relative``;
        ``junos_ns`` is the namespace of ``<junos:comment>`` in XML output (default ``JUNOS_NS``)."""
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}")
        located = self.locate(tree, path)
        if located is None:
            return ""
        elements, node, ancestors = located
        if fmt in ("xml", "json"):
            doc = self._subtree(tree, elements, ancestors) if path else tree
            return render_xml(doc, junos_ns) if fmt == "xml" else render_json(doc, self.model.root)
        whole = len(elements) > 1 or node.is_leafy
        if fmt == "text":
            if not whole:
                return render_text(elements[0], node)
            return "".join(render_text(el, node, whole_statement=True) for el in elements)
        prefix = () if relative else self._words_of(ancestors)
        if not whole:
            if not relative and elements[0] is not tree:
                prefix = self._words_of([*ancestors, elements[0]])
            return render_set(elements[0], node, prefix)
        return "".join(render_set_statement(el, node, prefix) for el in elements)

    def _words_of(self, chain: list[etree._Element]) -> tuple[str, ...]:
        words: list[str] = []
        node = self.model.root
        for el in chain:
            node = node.children[el.tag]
            words += statement_words(el, node)
        return tuple(words)

    def _subtree(self, tree, elements, ancestors) -> etree._Element:
        out = self.empty()
        parent, node = out, self.model.root
        for anc in ancestors:
            node = node.children[anc.tag]
            shell = etree.SubElement(parent, anc.tag)
            if node.kind == "list":
                etree.SubElement(shell, node.key).text = entry_key(anc, node)
            if anc.get("inactive") == "inactive":
                shell.set("inactive", "inactive")
            parent = shell
        for el in elements:
            clone = copy.deepcopy(el)
            clone.tail = None
            parent.append(clone)
        return out

    def compare(self, old: etree._Element, new: etree._Element) -> str:
        """``show | compare`` text; exactly "" when the configurations are the same."""
        return compare_mod.compare(self.model, old, new)

    def select(self, tree: etree._Element, filter_element: etree._Element | str | bytes) -> etree._Element:
        """The part of ``tree`` a ``<configuration>`` subtree filter asks for."""
        return select_mod.select(self.model, tree, filter_element)


@functools.cache
def get_schema() -> Schema:
    """The process-wide schema (YANG modules are parsed and compiled once)."""
    return Schema()
