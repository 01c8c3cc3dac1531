"""The schema structure, taken from the YANG modules with pyang.

libyang validates instance data; its schema API is thin, so everything the formats need (containers,
lists and keys, leaf-lists, presence, choices, types, defaults, order and the ``jx:`` display hints) comes
from pyang here, once per process.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pyang.context
import pyang.repository

log = logging.getLogger("netconf_device.schema")

EXT_MODULE = "nd-junos-extensions"
ROOT_MODULE = "nd-junos-conf-root"
# Modules with configuration data, in the order their top-level statements appear in <configuration>
# (Junos' order: version, system, chassis, services, security, interfaces, routing-options).
CONF_MODULES = (
    "nd-junos-conf-root",
    "nd-junos-conf-system",
    "nd-junos-conf-chassis",
    "nd-junos-conf-services",
    "nd-junos-conf-security",
    "nd-junos-conf-interfaces",
    "nd-junos-conf-routing-options",
)
TOP_LEVEL_ORDER = ("version", "system", "chassis", "services", "security", "interfaces", "routing-options")

_INTEGER_TYPES = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}


def default_yang_dir() -> Path:
    """Where the YANG modules are: ``$NETCONF_DEVICE_YANG_DIR``, else ``yang/`` at the root of the
    repository (the package lives in ``<root>/netconf_device``; editable installs), else
    ``<prefix>/share/netconf-device/yang`` (a wheel installing them as data files)."""
    override = os.environ.get("NETCONF_DEVICE_YANG_DIR")
    if override:
        return Path(override)
    in_repo = Path(__file__).resolve().parents[2] / "yang"
    if in_repo.is_dir():
        return in_repo
    return Path(sys.prefix) / "share" / "netconf-device" / "yang"


@dataclass(eq=False)
class SchemaNode:
    """A data node of the schema (container, list, leaf or leaf-list); choices and cases are folded in."""

    name: str
    kind: str  # "container" | "list" | "leaf" | "leaf-list"
    module: str
    namespace: str
    parent: SchemaNode | None = None
    children: dict[str, SchemaNode] = field(default_factory=dict)  # in schema order
    index: int = 0  # position among the parent's children (schema order)
    presence: bool = False
    key: str | None = None  # list key leaf ("name")
    ordered_by_user: bool = False
    base_type: str | None = None  # leaves: "string", "empty", "enumeration", "uint32", "union", "leafref", ...
    enums: tuple[str, ...] = ()
    integer: bool = False
    default: str | None = None
    mandatory: bool = False
    # ((choice id, case name), ...) from the data parent down to this node: siblings that share a choice
    # id with a different case are removed when this node is set.
    choice_path: tuple[tuple[int, str], ...] = ()
    choice_cases: dict[int, tuple[str, ...]] = field(default_factory=dict)  # on parents: choice id -> cases
    choice_names: dict[str, tuple[str, ...]] = field(default_factory=dict)  # on parents: choice name -> cases
    nokeyword: bool = False
    oneliner: bool = False
    oneliner_plus: bool = False
    flat: bool = False
    secret_data: bool = False
    obfuscate9: bool = False
    hexadecimal: bool = False
    when_message: str | None = None
    type_name: str | None = None  # the typedef a leaf uses directly ("ipv4prefix"), for clear type errors
    range_text: str | None = None  # "1..300" for integer leaves with a range
    length_text: str | None = None
    nokeyword_child: SchemaNode | None = None  # on parents: the child written without its keyword
    conflicts: tuple[str, ...] = ()  # siblings in other cases of this node's choices

    @property
    def is_inner(self) -> bool:
        return self.kind in ("container", "list")

    @property
    def is_leafy(self) -> bool:
        return self.kind in ("leaf", "leaf-list")

    @property
    def is_empty_type(self) -> bool:
        return self.base_type == "empty"

    def child(self, name: str) -> SchemaNode | None:
        return self.children.get(name)

    def schema_path(self) -> tuple[str, ...]:
        names: list[str] = []
        node: SchemaNode | None = self
        while node is not None and node.parent is not None:
            names.append(node.name)
            node = node.parent
        return tuple(reversed(names))

    def conflicts_with(self, other: SchemaNode) -> bool:
        """True when ``self`` and ``other`` (siblings) are in different cases of one choice."""
        mine = dict(self.choice_path)
        for choice_id, case in other.choice_path:
            if choice_id in mine and mine[choice_id] != case:
                return True
        return False

    def __repr__(self) -> str:
        return f"<SchemaNode {self.kind} {'/'.join(self.schema_path()) or '/'}>"


@dataclass(frozen=True)
class ModuleText:
    name: str
    revision: str
    namespace: str
    prefix: str
    text: str
    path: Path


def _ext(stmt, name: str):
    return stmt.search_one((EXT_MODULE, name))


def _resolve_type(type_stmt):
    """Follow typedefs down to the built-in type statement; return (builtin type stmt, chain)."""
    chain = [type_stmt]
    while getattr(type_stmt, "i_typedef", None) is not None:
        type_stmt = type_stmt.i_typedef.search_one("type")
        chain.append(type_stmt)
    return type_stmt, chain


def _type_info(node: SchemaNode, stmt) -> None:
    type_stmt = stmt.search_one("type")
    if type_stmt is None:
        return
    builtin, chain = _resolve_type(type_stmt)
    if getattr(type_stmt, "i_typedef", None) is not None:
        node.type_name = type_stmt.arg.split(":")[-1]
    node.base_type = builtin.arg
    node.integer = builtin.arg in _INTEGER_TYPES
    if builtin.arg == "enumeration":
        node.enums = tuple(e.arg for e in builtin.search("enum"))
    for t in chain:  # the innermost restriction that is given wins for the message
        rng = t.search_one("range")
        if rng is not None and node.range_text is None:
            node.range_text = rng.arg.replace(" ", "")
        length = t.search_one("length")
        if length is not None and node.length_text is None:
            node.length_text = length.arg.replace(" ", "")
    default = stmt.search_one("default")
    for t in chain[:-1]:  # a typedef's default applies when the leaf has none
        if default is not None:
            break
        default = t.i_typedef.search_one("default")
    if default is not None:
        node.default = default.arg


class SchemaModel:
    """The configuration schema as a tree of ``SchemaNode`` rooted at ``<configuration>``."""

    def __init__(self, yang_dir: Path | None = None) -> None:
        self.yang_dir = Path(yang_dir or default_yang_dir())
        self.modules: list[ModuleText] = []
        self.namespaces: dict[str, str] = {}  # module name -> namespace
        self._choice_ids: dict[int, int] = {}
        ctx = self._pyang_context()
        root_mod = ctx.get_module(ROOT_MODULE)
        conf = root_mod.search_one("container", "configuration")
        self.root = SchemaNode(
            name="configuration",
            kind="container",
            module=ROOT_MODULE,
            namespace=self.namespaces[ROOT_MODULE],
        )
        self._build_children(self.root, conf)
        order = {name: i for i, name in enumerate(TOP_LEVEL_ORDER)}
        self.root.children = dict(
            sorted(self.root.children.items(), key=lambda kv: order.get(kv[0], len(order)))
        )
        for i, child in enumerate(self.root.children.values()):
            child.index = i

    # ------------------------------------------------------------------------------------ pyang
    def _pyang_context(self):
        repo = pyang.repository.FileRepository(str(self.yang_dir), use_env=False, no_path_recurse=True)
        ctx = pyang.context.Context(repo)
        files = sorted(self.yang_dir.glob("*.yang"))
        if not files:
            raise RuntimeError(f"no YANG modules in {self.yang_dir}")
        for path in files:
            text = path.read_text(encoding="utf-8")
            module = ctx.add_module(str(path), text)
            if module is None:
                raise RuntimeError(f"cannot parse YANG module {path}")
        ctx.validate()
        errors = [
            (err[0].ref, err[0].line, err[1], err[2])
            for err in ctx.errors
            if pyang.error.is_error(pyang.error.err_level(err[1]))
        ]
        if errors:
            raise RuntimeError(f"YANG modules do not validate: {errors}")
        for path in files:
            text = path.read_text(encoding="utf-8")
            name = path.name.split("@")[0].removesuffix(".yang")
            mod = ctx.get_module(name)
            revision = mod.search_one("revision")
            namespace = mod.search_one("namespace").arg
            self.namespaces[name] = namespace
            self.modules.append(
                ModuleText(
                    name=name,
                    revision=revision.arg if revision is not None else "",
                    namespace=namespace,
                    prefix=mod.search_one("prefix").arg,
                    text=text,
                    path=path,
                )
            )
        return ctx

    def _choice_id(self, stmt) -> int:
        return self._choice_ids.setdefault(id(stmt), len(self._choice_ids) + 1)

    def _build_children(self, parent: SchemaNode, stmt, choice_path: tuple = ()) -> None:
        for sub in getattr(stmt, "i_children", []):
            if sub.keyword == "choice":
                cid = self._choice_id(sub)
                cases = tuple(c.arg for c in sub.i_children)
                parent.choice_cases[cid] = cases
                parent.choice_names[sub.arg] = cases
                for case in sub.i_children:
                    self._build_children(parent, case, choice_path + ((cid, case.arg),))
                continue
            if sub.keyword not in ("container", "list", "leaf", "leaf-list"):
                continue
            module = sub.i_module.i_modulename
            node = SchemaNode(
                name=sub.arg,
                kind=sub.keyword,
                module=module,
                namespace=self.namespaces.get(module, ""),
                parent=parent,
                index=len(parent.children),
                choice_path=choice_path,
            )
            node.presence = sub.keyword == "container" and sub.search_one("presence") is not None
            if sub.keyword == "list":
                node.key = sub.search_one("key").arg
            ordered = sub.search_one("ordered-by")
            node.ordered_by_user = ordered is not None and ordered.arg == "user"
            mandatory = sub.search_one("mandatory")
            node.mandatory = mandatory is not None and mandatory.arg == "true"
            node.nokeyword = _ext(sub, "nokeyword") is not None
            node.oneliner = _ext(sub, "oneliner") is not None
            node.oneliner_plus = _ext(sub, "oneliner-plus") is not None
            node.flat = _ext(sub, "flat") is not None
            node.secret_data = _ext(sub, "secret-data") is not None
            node.obfuscate9 = _ext(sub, "obfuscate-9") is not None
            node.hexadecimal = _ext(sub, "hexadecimal") is not None
            when = sub.search_one("when")
            if when is not None and _ext(when, "when-error-message") is not None:
                node.when_message = _ext(when, "when-error-message").arg
            if node.is_leafy:
                _type_info(node, sub)
            if node.nokeyword:
                parent.nokeyword_child = node
            parent.children[node.name] = node
            if node.is_inner:
                self._build_children(node, sub)
                for child in node.children.values():
                    child.conflicts = tuple(
                        other.name for other in node.children.values() if child.conflicts_with(other)
                    )

    # ------------------------------------------------------------------------------------ lookups
    def node_at(self, schema_path: tuple[str, ...] | list[str]) -> SchemaNode | None:
        node = self.root
        for name in schema_path:
            node = node.children.get(name)
            if node is None:
                return None
        return node

    def walk(self):
        """Every schema node, depth first."""
        stack = [self.root]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(list(node.children.values())))
