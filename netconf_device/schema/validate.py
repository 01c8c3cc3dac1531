"""Instance validation with libyang (oopt-gnpy-libyang), errors reported the way Junos reports them.

Junos XML is unqualified; libyang needs namespaces: every top-level statement gets its module's default
namespace on the way in (its descendants inherit it). Inactive statements and annotations are left out,
as Junos ignores them at commit. libyang reports every error of one run (MultiError) with a data path;
``map_errors`` turns each into a ``ConfigError`` with the Junos ``[edit ...]`` path, the offending
statement and a message in Junos' words (must/when messages come verbatim from the YANG modules).
"""

from __future__ import annotations

import copy
import functools
import logging
import re
import threading

import oopt_gnpy_libyang as ly
from lxml import etree

from netconf_device.schema.errors import ConfigError
from netconf_device.schema.tokens import quote
from netconf_device.schema.treeops import COMMENT_TAG, INACTIVE, line_of
from netconf_device.schema.yangmodel import CONF_MODULES, SchemaModel, SchemaNode

log = logging.getLogger("netconf_device.schema")

_VALIDATE = ly.ValidationOptions.Present | ly.ValidationOptions.NoState | ly.ValidationOptions.MultiError
_MANDATORY = re.compile(r'^Mandatory node "([^"]+)" instance does not exist\.')
_CHOICE = re.compile(r'^Mandatory choice "([^"]+)" data do not exist\.')
_TOO_FEW = re.compile(r'^Too few "([^"]+)" instances\.')
_TOO_MANY = re.compile(r'^Too many "([^"]+)" instances\.')
_UNIQUE = re.compile(r'^Unique data leaf\(s\) "([^"]+)" not satisfied in "([^"]+)" and "([^"]+)"\.')
_WHEN = re.compile(r'^When condition "([^"]+)" not satisfied\.')
_RANGE = re.compile(r'^Unsatisfied range - value "([^"]*)" is out of the allowed range\.')
_LENGTH = re.compile(r'^Unsatisfied length - string "([^"]*)" length is not allowed\.')
_PATTERN = re.compile(r'^Unsatisfied pattern - "([^"]*)" does not')
_UNION = re.compile(r'^Invalid union value "([^"]*)"')
_ENUM = re.compile(r'^Invalid enumeration value "([^"]*)"\.')
_NUMBER = re.compile(r'^Invalid (?:type )?u?int\d+ value "([^"]*)"\.|^Value "([^"]*)" is out of type')
_EMPTY = re.compile(r'^Invalid empty value length|^Invalid type empty value')
_DUPLICATE = re.compile(r'^Duplicate instance of "([^"]+)"\.')
_UNKNOWN = re.compile(r'^Node "([^"]+)" not found as a child of "([^"]+)" node\.')


# ------------------------------------------------------------------------------------------------ paths
def split_data_path(path: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """``/a:x/y[name='k/1']/z[.='v']`` -> [("x", []), ("y", [("name", "k/1")]), ("z", [(".", "v")])]."""
    segments: list[tuple[str, list[tuple[str, str]]]] = []
    i, n = 0, len(path)
    while i < n:
        if path[i] != "/":
            raise ValueError(f"bad data path {path!r}")
        i += 1
        j = i
        while j < n and path[j] not in "/[":
            j += 1
        name = path[i:j].split(":")[-1]
        preds: list[tuple[str, str]] = []
        while j < n and path[j] == "[":
            eq = path.index("=", j)
            key = path[j + 1 : eq].strip().split(":")[-1]
            quote_char = path[eq + 1]
            end = path.index(quote_char, eq + 2)
            preds.append((key, path[eq + 2 : end]))
            j = path.index("]", end) + 1
        segments.append((name, preds))
        i = j
    return segments


class Location:
    """Where a data path points: schema node, element (when it exists), edit path and statement."""

    def __init__(self, model: SchemaModel, tree: etree._Element | None, data_path: str) -> None:
        segments = split_data_path(data_path)
        if segments and segments[0][0] == "configuration":
            segments = segments[1:]
        node = model.root
        el = tree
        self.nearest = tree  # deepest element that exists on the path
        self.missing_key: SchemaNode | None = None  # list whose key libyang could not store (bad value)
        words: list[list[str]] = []  # words of each segment, for edit path and statement
        self.value: str | None = None
        for name, preds in segments:
            child = node.children.get(name)
            if child is None:
                break
            if child.kind == "list":
                key = dict(preds).get(child.key, "")
                words.append(([] if child.nokeyword else [child.name]) + [key])
                if not key:
                    self.missing_key = child
                el = _find_entry(el, child, key)
            elif child.kind == "leaf-list":
                value = dict(preds).get(".")
                self.value = value
                words.append([child.name] + ([value] if value is not None else []))
                el = None if el is None else next(
                    (v for v in el.iterchildren(name) if value is None or v.text == value), None
                )
            else:
                words.append([child.name])
                el = None if el is None else el.find(name)
                if child.kind == "leaf" and el is not None and not child.is_empty_type:
                    self.value = el.text or ""
                    if not child.nokeyword:
                        words[-1].append(self.value)
                    else:
                        words[-1] = [self.value]
            node = child
            if el is not None:
                self.nearest = el
        self.node: SchemaNode = node
        self.element = el
        self.words = words
        self.data_path = "/configuration" + "".join(
            "/" + name + "".join(f"[{k}='{v}']" for k, v in preds) for name, preds in segments
        )

    def edit_path(self, up: int = 1) -> tuple[str, ...]:
        """Edit path of the ``up``-th ancestor (1: the parent of the node)."""
        words = self.words[: max(0, len(self.words) - up)]
        return tuple(w for seg in words for w in seg)

    def statement(self, up: int = 0) -> str | None:
        if len(self.words) <= up:
            return None
        return " ".join(quote(w) for w in self.words[len(self.words) - 1 - up])


def _find_entry(el, node: SchemaNode, key: str):
    if el is None:
        return None
    for entry in el.iterchildren(node.name):
        if entry.findtext(node.key) == key:
            return entry
    return None


# ------------------------------------------------------------------------------------------------ engine
class Validator:
    """One libyang context for the process; calls are serialised (libyang's error store is per call)."""

    def __init__(self, model: SchemaModel) -> None:
        self.model = model
        self._lock = threading.Lock()
        ly.set_log_options(ly.LogOptions.Store)
        self.ctx = ly.Context(str(model.yang_dir), ly.ContextOptions.NoYangLibrary | ly.ContextOptions.DisableSearchCwd)
        for name in CONF_MODULES:
            self.ctx.load_module(name)
        self._namespaces = {name: node.namespace for name, node in model.root.children.items()}

    # -------------------------------------------------------------------------------- serialisation
    def qualified_xml(self, tree: etree._Element, active: bool = False) -> str:
        """The tree as namespace-qualified XML for libyang, without inactive statements or comments
        (``active``: the caller already removed them)."""
        active = tree if active else without_inactive(tree)
        root_ns = self.model.root.namespace
        parts = [f'<configuration xmlns="{root_ns}">']
        for child in active:
            if not isinstance(child.tag, str):
                continue
            text = etree.tostring(child, encoding="unicode", with_tail=False)
            ns = self._namespaces.get(child.tag)
            if ns is not None and ns != root_ns:
                text = f'<{child.tag} xmlns="{ns}"' + text[len(child.tag) + 1 :]
            parts.append(text)
        parts.append("</configuration>")
        return "".join(parts)

    def _run(self, xml: str, parse_only: bool) -> list:
        opts = ly.ParseOptions.Strict | (ly.ParseOptions.ParseOnly if parse_only else ly.ParseOptions.Strict)
        validation = ly.ValidationOptions.MultiError if parse_only else _VALIDATE
        with self._lock:
            self.ctx.clean_all_errors()
            try:
                self.ctx.parse_data(xml, ly.DataFormat.XML, opts, validation)
                return []
            except ly.Error:
                return [
                    (e.data_path, e.message, e.app_tag)
                    for e in self.ctx.errors()
                    if e.level == ly.LogLevel.Error
                ]
            finally:
                self.ctx.clean_all_errors()

    # -------------------------------------------------------------------------------- entry points
    def validate(self, tree: etree._Element, active: bool = False) -> list[ConfigError]:
        """Full validation (types, mandatory, must/when, leafref, unique) of a candidate."""
        raw = self._run(self.qualified_xml(tree, active), parse_only=False)
        return [self.map_error(tree, *item) for item in raw]

    def typecheck(self, patch: etree._Element, lines: dict | None = None) -> list[ConfigError]:
        """Types, ranges, patterns and enums of the values in a load patch (no cross-checks). Errors
        carry the input line (``lines``: element -> line of set/text input; XML: its source line)."""
        check = self._check_copy(patch)
        raw = self._run(self.qualified_xml(check, active=True), parse_only=True)
        errors = []
        bad_keys: dict[int, SchemaNode] = {}
        for item in raw:
            if item[0]:
                loc = Location(self.model, patch, item[0])
                if loc.missing_key is not None:  # libyang drops an invalid key: find it below
                    bad_keys[id(loc.missing_key)] = loc.missing_key
                    continue
            errors.append(self.map_error(patch, *item, load=True, lines=lines))
        for node in bad_keys.values():
            errors.extend(self._key_errors(check, patch, node, lines))
        return errors

    def _key_errors(self, check, patch, node: SchemaNode, lines) -> list[ConfigError]:
        """Errors for the invalid keys of list ``node``: each entry's key alone is checked by libyang
        (only when libyang reported an unusable key, so this is not on the normal path)."""
        errors = []
        path = "/".join(node.schema_path())
        for entry, original in zip(check.iterfind(path), patch.iterfind(path), strict=False):
            probe = etree.Element("configuration")
            parent, ancestor_chain = probe, []
            cur = entry.getparent()
            while cur is not None and cur is not check:
                ancestor_chain.append(cur)
                cur = cur.getparent()
            anc_node = self.model.root
            for anc in reversed(ancestor_chain):
                anc_node = anc_node.children[anc.tag]
                shell = etree.SubElement(parent, anc.tag)
                if anc_node.kind == "list":
                    etree.SubElement(shell, anc_node.key).text = anc.findtext(anc_node.key)
                parent = shell
            shell = etree.SubElement(parent, node.name)
            etree.SubElement(shell, node.key).text = entry.findtext(node.key)
            raw = self._run(self.qualified_xml(probe, active=True), parse_only=True)
            messages = [m for _, m, _ in raw if not m.startswith("List instance is missing its key")]
            if raw:
                key = entry.findtext(node.key) or ""
                message = messages[0].split("\n", 1)[0] if messages else "invalid value"
                if message.startswith(("Unsatisfied pattern", "Invalid union value")):
                    message = f"Invalid value for '{node.name}': '{key}'"
                errors.append(
                    ConfigError(
                        message=message,
                        edit_path=edit_words(self.model, patch, original.getparent()),
                        statement=key if node.nokeyword else f"{node.name} {quote(key)}",
                        error_type="protocol",
                        error_tag="invalid-value",
                        line=line_of(original, lines),
                        rule="pattern",
                    )
                )
        return errors

    @functools.cached_property
    def _secret_paths(self) -> list[str]:
        return ["/".join(n.schema_path()) for n in self.model.walk() if n.obfuscate9]

    def _check_copy(self, patch: etree._Element) -> etree._Element:
        """What libyang type-checks of a patch: no deletions, bare (de)activations, annotations or edit
        attributes, and no clear-text secrets (those are checked when they are encoded)."""
        clear_secrets = [
            el for path in self._secret_paths for el in patch.iterfind(path) if not (el.text or "").startswith("$9$")
        ]
        if not clear_secrets and next(patch.iter(COMMENT_TAG), None) is None and not patch.xpath("boolean(.//@*)"):
            return patch
        check = copy.deepcopy(patch)
        for path in self._secret_paths:
            for el in check.iterfind(path):
                el.text = "$9$checked-on-encoding"
        for el in list(check.iter()):
            if not isinstance(el.tag, str) or el.tag == COMMENT_TAG:
                if el.getparent() is not None:
                    el.getparent().remove(el)
                continue
            if not el.attrib:
                continue
            deleting = el.get("delete") == "delete" or el.get("operation") in ("delete", "remove")
            toggling = el.get("inactive") or el.get("active") or el.get("rename")
            bare = not len(el) and not (el.text or "").strip()
            el.attrib.clear()
            if (deleting or (toggling and bare)) and el.getparent() is not None:
                el.getparent().remove(el)
        return check

    # -------------------------------------------------------------------------------- mapping
    def map_error(self, tree, data_path, message: str, app_tag, load: bool = False, lines: dict | None = None):
        if not data_path:
            return ConfigError(message=message, error_tag="operation-failed", rule="libyang")
        loc = Location(self.model, tree, data_path)
        line = line_of(loc.element if loc.element is not None else loc.nearest, lines) if load else None
        etype = "protocol" if load else "application"

        def err(msg, path, statement, tag="invalid-value", rule="yang"):
            return ConfigError(
                message=msg,
                edit_path=path,
                statement=statement,
                data_path=loc.data_path,
                error_type=etype,
                error_tag=tag,
                line=line,
                rule=rule,
            )

        first_line = message.split("\n", 1)[0]
        if app_tag == "must-violation":
            return err(message, loc.edit_path(), loc.statement(), rule="must")
        m = _TOO_FEW.match(first_line)
        if m and loc.node.name == m.group(1):  # the path names the leaf-list itself: report on its parent
            return err(f"Missing mandatory statement: '{m.group(1)}'", loc.edit_path(2), loc.statement(1),
                       "missing-element", "mandatory")
        m = m or _MANDATORY.match(first_line)
        if m:
            return err(f"Missing mandatory statement: '{m.group(1)}'", loc.edit_path(), loc.statement(),
                       "missing-element", "mandatory")
        m = _CHOICE.match(first_line)
        if m:
            cases = loc.node.choice_names.get(m.group(1), ())
            wanted = " or ".join(f"'{c}'" for c in cases) if cases else f"'{m.group(1)}'"
            return err(f"Missing mandatory statement: {wanted}", loc.edit_path(), loc.statement(),
                       "missing-element", "mandatory")
        m = _TOO_MANY.match(first_line)
        if m:
            return err(f"Too many '{m.group(1)}' statements", loc.edit_path(0), m.group(1), rule="max-elements")
        m = _UNIQUE.match(first_line)
        if m:
            leaf = m.group(1)
            other = Location(self.model, tree, m.group(2))
            value_el = loc.element.find(leaf) if loc.element is not None and "/" not in leaf else None
            value = f" {value_el.text}" if value_el is not None else ""
            return err(
                f"'{leaf}{value}' must be unique: it is also configured in {other.statement()}",
                loc.edit_path(), loc.statement(), rule="unique",
            )
        m = _WHEN.match(first_line)
        if m:
            msg = loc.node.when_message or f"'{loc.node.name}' is not allowed here"
            return err(msg, loc.edit_path(), loc.statement(), rule="when")
        m = _RANGE.match(first_line)
        if m:
            rng = loc.node.range_text or ""
            return err(f"value {m.group(1)} is not within range ({rng})", loc.edit_path(), loc.statement(),
                       rule="range")
        m = _LENGTH.match(first_line)
        if m:
            return err(f"Length of '{loc.node.name}' must be {loc.node.length_text} characters",
                       loc.edit_path(), loc.statement(), rule="length")
        m = _ENUM.match(first_line)
        if m:
            return err("syntax error", loc.edit_path(), m.group(1), rule="enumeration")
        m = _NUMBER.match(first_line)
        if m:
            return err(f"Invalid numeric value: '{m.group(1) or m.group(2)}'", loc.edit_path(), loc.statement(),
                       rule="type")
        if _PATTERN.match(first_line) or _UNION.match(first_line):
            value = loc.value if loc.value is not None else ""
            return err(f"Invalid value for '{loc.node.name}': '{value}'", loc.edit_path(), loc.statement(),
                       rule="pattern")
        if _EMPTY.match(first_line):
            return err("syntax error", loc.edit_path(), loc.statement(), rule="type")
        m = _DUPLICATE.match(first_line)
        if m:
            return err("statement already exists", loc.edit_path(), loc.statement(), "data-exists", "duplicate")
        m = _UNKNOWN.match(first_line)
        if m:
            return err("syntax error", loc.edit_path(0), m.group(1), rule="unknown")
        # A message defined in the YANG modules (error-message of a pattern, range or length).
        return err(first_line, loc.edit_path(), loc.statement(), rule="yang")


def edit_words(model: SchemaModel, root: etree._Element, el: etree._Element) -> tuple[str, ...]:
    """Edit path words of element ``el`` (``("security", "ike", "gateway", "gw1")``)."""
    chain = []
    while el is not None and el is not root:
        chain.append(el)
        el = el.getparent()
    words: list[str] = []
    node = model.root
    for item in reversed(chain):
        node = node.children.get(item.tag)
        if node is None:
            break
        if node.kind == "list":
            words += ([] if node.nokeyword else [node.name]) + [item.findtext(node.key) or ""]
        else:
            words.append(node.name)
    return tuple(words)


def without_inactive(tree: etree._Element) -> etree._Element:
    """``tree`` without inactive statements and annotations (a copy only when there are some)."""
    if next(tree.iter(COMMENT_TAG), None) is None and not tree.xpath("boolean(.//@inactive)"):
        return tree
    active = copy.deepcopy(tree)
    for el in list(active.iter()):
        if not isinstance(el.tag, str) or el.tag == COMMENT_TAG or el.get(INACTIVE) == INACTIVE:
            parent = el.getparent()
            if parent is not None:
                parent.remove(el)
    return active


# ------------------------------------------------------------------------------------------------ bench hook
def instance_document(schema, tree: etree._Element) -> tuple[str, object]:
    """(libyang instance XML of ``tree``, libyang context) - for benchmarks that time libyang alone."""
    return schema.validator.qualified_xml(tree), schema.validator.ctx


def parse_and_validate(ctx, data: str) -> None:
    """Parse and fully validate an instance document with libyang (raises ``oopt_gnpy_libyang.Error``)."""
    ctx.parse_data(data, ly.DataFormat.XML, ly.ParseOptions.Strict, _VALIDATE)
