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
from netconf_device.schema.typemsg import invalid_value_message
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
_VALUE_PATTERNS = (_RANGE, _LENGTH, _PATTERN, _UNION, _ENUM, _NUMBER)
_VALUE_ERROR = re.compile("|".join(f"(?:{p.pattern})" for p in _VALUE_PATTERNS))


def _message_value(first_line: str) -> str | None:
    """The value a libyang type error quotes (``Unsatisfied pattern - "300.1.1.1/24" does not ...``)."""
    for pattern in _VALUE_PATTERNS:
        m = pattern.match(first_line)
        if m:
            return next((g for g in m.groups() if g is not None), None)
    return None


def value_message(node: SchemaNode, value: str, first_line: str) -> tuple[str, str]:
    """(message, rule) for ``value`` of leaf ``node`` refused by libyang with ``first_line``."""
    if _RANGE.match(first_line):
        return f"value {value} is not within range ({node.range_text or ''})", "range"
    if _LENGTH.match(first_line):
        return f"Length of '{node.name}' must be {node.length_text} characters", "length"
    if _NUMBER.match(first_line):
        return f"Invalid numeric value: '{value}'", "type"
    if _PATTERN.match(first_line) or _UNION.match(first_line):
        return invalid_value_message(node.type_name, node.name, value), "pattern"
    if _ENUM.match(first_line):
        return "syntax error", "enumeration"
    # A message defined in the YANG modules (error-message of a pattern, range or length).
    return first_line, "yang"


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
        self.missing_parent: etree._Element | None = None  # the element holding that list's entries
        self.missing_depth = 0  # number of segments above that list (its parent's edit path)
        words: list[list[str]] = []  # words of each segment, for edit path and statement
        self.value: str | None = None
        for name, preds in segments:
            child = node.children.get(name)
            if child is None:
                break
            if child.kind == "list":
                key = dict(preds).get(child.key, "")
                words.append(([] if child.nokeyword else [child.name]) + [key])
                if not key and self.missing_key is None:
                    self.missing_key, self.missing_parent, self.missing_depth = child, el, len(words) - 1
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
        # The last instance document libyang fully validated without an error. Validation is a pure
        # function of the document, so the same document again (commit check then commit, or a commit
        # of what a load from scratch already validated) is valid without a second libyang run.
        self._valid_doc: str | None = None

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

    def _validate_document(self, xml: str) -> list:
        """libyang's errors for a full validation of ``xml`` ([] also for a repeat of the last valid one)."""
        with self._lock:
            if xml == self._valid_doc:
                return []
        raw = self._run(xml, parse_only=False)
        if not raw:
            with self._lock:
                self._valid_doc = xml
        return raw

    def forget(self) -> None:
        """Drop the remembered valid document (benchmarks time validation itself)."""
        with self._lock:
            self._valid_doc = None

    # -------------------------------------------------------------------------------- entry points
    def validate(self, tree: etree._Element, active: bool = False) -> list[ConfigError]:
        """Full validation (types, mandatory, must/when, leafref, unique) of a candidate."""
        raw = self._validate_document(self.qualified_xml(tree, active))
        return self._map_all(tree, tree, raw, load=False, lines=None)

    def typecheck(self, patch: etree._Element, lines: dict | None = None, *, clean: bool = False,
                  whole: bool = False) -> list[ConfigError]:
        """Types, ranges, patterns and enums of the values in a load patch (no cross-checks). Errors
        carry the input line (``lines``: element -> line of set/text input; XML: its source line).

        ``clean``: the caller knows the patch has no annotations, attributes or clear-text secrets (a set
        load without annotate/deactivate), so it is checked as it is. ``whole``: the patch is the entire
        new configuration (a load into an empty one); it is then fully validated first, and when that
        finds nothing the commit of the same configuration does not ask libyang again."""
        check = patch if clean else self._check_copy(patch)
        xml = self.qualified_xml(check, active=True)
        if whole and check is patch and not self._validate_document(xml):
            return []  # valid as a configuration, so every value in it has its type
        raw = self._run(xml, parse_only=True)
        return self._map_all(check, patch, raw, load=True, lines=lines)

    def _map_all(self, check, tree, raw: list, load: bool, lines: dict | None) -> list[ConfigError]:
        """Map libyang's errors. A list entry whose key value libyang refuses comes back as two errors
        without the key in their paths: the key's own (``.../address/name``, the value in its message)
        and ``List instance is missing its key``. They become one error naming the statement
        (``address 300.1.1.1/24``), like any bad value."""
        errors: list[ConfigError] = []
        keyed: set[str] = set()  # data paths of lists whose bad key was reported
        keyless: dict[str, tuple[str, SchemaNode]] = {}  # "missing its key" without its key's error yet
        for item in raw:
            if item[0]:
                loc = Location(self.model, tree, item[0])
                if loc.missing_key is not None:
                    if loc.node is loc.missing_key and item[1].startswith("List instance is missing its key"):
                        keyless.setdefault(loc.data_path, (item[1], loc.missing_key))
                        continue
                    if loc.node.parent is loc.missing_key and loc.node.name == loc.missing_key.key:
                        error = self._bad_key(loc, item[1], load, lines)
                        list_path = loc.data_path.rsplit("/", 1)[0]
                        if error is None:  # the message does not quote the value: probe the entries
                            keyless.setdefault(list_path, (item[1], loc.missing_key))
                        else:
                            errors.append(error)
                            keyed.add(list_path)
                        continue
            errors.append(self.map_error(tree, *item, load=load, lines=lines))
        probed: set[int] = set()
        for path, (message, node) in keyless.items():
            if path in keyed or id(node) in probed:
                continue
            probed.add(id(node))  # no value to go by (e.g. an XML entry without its key): probe each entry
            errors.extend(self._key_errors(check, tree, node, lines, load) or
                          [self.map_error(tree, path, message, None, load=load, lines=lines)])
        return errors

    def _bad_key(self, loc: Location, message: str, load: bool, lines: dict | None) -> ConfigError | None:
        """The error for a list key libyang refused (``loc`` points at the key leaf), or None when the
        message does not carry the value."""
        node = loc.missing_key
        first_line = message.split("\n", 1)[0]
        value = _message_value(first_line)
        if value is None:
            return None
        entry = None
        if loc.missing_parent is not None:
            entry = next((e for e in loc.missing_parent.iterchildren(node.name) if e.findtext(node.key) == value),
                         None)
        text, rule = value_message(loc.node, value, first_line)
        words = loc.words[: loc.missing_depth]
        return ConfigError(
            message=text,
            edit_path=tuple(w for seg in words for w in seg),
            statement=quote(value) if node.nokeyword else f"{node.name} {quote(value)}",
            data_path=loc.data_path.rsplit("/", 1)[0] + f"[{node.key}='{value}']",
            error_type="protocol" if load else "application",
            error_tag="invalid-value",
            line=line_of(entry if entry is not None else loc.missing_parent, lines) if load else None,
            rule=rule,
        )

    def _key_errors(self, check, patch, node: SchemaNode, lines, load: bool) -> list[ConfigError]:
        """Errors for the invalid keys of list ``node``, each entry's key checked alone by libyang (only
        when libyang's own errors do not say which value it refused, so this is off the normal path)."""
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
                key = entry.findtext(node.key)
                if key is None:
                    message, rule = f"Missing mandatory statement: '{node.key}'", "mandatory"
                else:
                    first_line = messages[0].split("\n", 1)[0] if messages else "invalid value"
                    message, rule = value_message(node.children[node.key], key, first_line)
                errors.append(
                    ConfigError(
                        message=message,
                        edit_path=edit_words(self.model, patch, original.getparent()),
                        statement=(key or "") if node.nokeyword else f"{node.name} {quote(key or '')}",
                        error_type="protocol" if load else "application",
                        error_tag="invalid-value",
                        line=line_of(original, lines) if load else None,
                        rule=rule,
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
            el for path in self._secret_paths for el in patch.xpath(path) if not (el.text or "").startswith("$9$")
        ]
        if not clear_secrets and next(patch.iter(COMMENT_TAG), None) is None and not patch.xpath("boolean(.//@*)"):
            return patch
        check = copy.deepcopy(patch)
        for path in self._secret_paths:
            for el in check.xpath(path):
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
        if _VALUE_ERROR.match(first_line):
            value = loc.value if loc.value is not None else (_message_value(first_line) or "")
            if _ENUM.match(first_line):
                return err("syntax error", loc.edit_path(), _message_value(first_line), rule="enumeration")
            statement = loc.statement()
            if loc.node.kind == "leaf-list" and loc.value is None:  # libyang could not store the value
                statement = f"{loc.node.name} {quote(value)}"
                if load and loc.element is None and loc.nearest is not None:
                    stored = next((v for v in loc.nearest.iterchildren(loc.node.name) if v.text == value), None)
                    line = line_of(stored if stored is not None else loc.nearest, lines)
            text, rule = value_message(loc.node, value, first_line)
            return err(text, loc.edit_path(), statement, rule=rule)
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
