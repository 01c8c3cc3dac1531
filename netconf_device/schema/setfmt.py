"""Junos ``set`` commands: executing them (``load set``) and printing a tree as them (``| display set``).

Commands: ``set``, ``delete``, ``activate``, ``deactivate``, ``insert PATH before|after REF``,
``rename PATH to [KEYWORD] NEWKEY``, ``annotate PATH "comment"``, ``edit PATH``, ``up [N]``, ``top``;
``#`` comment lines and blank lines are skipped. Every ``set`` is also recorded in a separate patch tree
(with the line number on each element) so the loaded values can be type-checked and errors point at lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from netconf_device.schema.errors import MAX_LOAD_ERRORS, ConfigError, syntax_error, too_many_errors
from netconf_device.schema.merge import set_annotation
from netconf_device.schema.tokens import Token, TokenizeError, column_of, quote, scan_lines, text_of
from netconf_device.schema.treeops import INACTIVE, Workspace, entry_key, is_data, is_inactive
from netconf_device.schema.walker import (
    Segment,
    WalkError,
    create,
    find,
    kept_secret,
    parse_path,
    secret_value,
)
from netconf_device.schema.yangmodel import SchemaNode


@dataclass
class _Context:
    element: etree._Element
    node: SchemaNode
    path: tuple[str, ...]
    patch: etree._Element


def _path_words(segments: list[Segment]) -> tuple[str, ...]:
    out: list[str] = []
    for seg in segments:
        if seg.node.kind == "list":
            if not seg.node.nokeyword:
                out.append(seg.node.name)
            if seg.arg is not None:
                out.append(seg.arg)
        elif seg.node.kind == "container":
            out.append(seg.node.name)
    return tuple(out)


class SetExecutor:
    """Runs ``set``-format lines against a workspace, collecting errors and warnings."""

    def __init__(self, ws: Workspace, patch_ws: Workspace | None, start_path: list[Token] | None = None) -> None:
        self.ws = ws
        self.patch_ws = patch_ws  # None: the caller type-checks ws itself (its lines are recorded)
        self.errors: list[ConfigError] = []
        self.warnings: list[ConfigError] = []
        self.root = _Context(ws.tree, ws.model.root, (), patch_ws.tree if patch_ws is not None else None)
        self.stack = [self.root]
        # The previous plain set line: (context, words, [(end index, node, element, patch element) of each
        # container or list entry it went through]). A line sharing its first words starts from there.
        self._previous: tuple | None = None
        self._raw: list[str] = []
        # No annotation, inactive flag or other attribute was written (type-checking needs no cleaning).
        self.clean = True
        self._number = 0  # line being executed
        if start_path:
            self._edit(start_path, 0)
        self.base_depth = len(self.stack)

    # ------------------------------------------------------------------------------------ errors
    def _err(self, message: str, tok, bad: str | None, line: list, severity: str = "error") -> None:
        where = tok if tok is not None else line[0]
        if where.__class__ is str or not where.column:  # plain words carry no column: find it
            index = next((i for i, t in enumerate(line) if t is where), 0)
            raw = self._raw[self._number - 1] if 0 < self._number <= len(self._raw) else ""
            column = column_of(raw, index)
        else:
            column = where.column
        entry = ConfigError(
            message=message,
            statement=bad,
            severity=severity,
            edit_path=self.stack[-1].path,
            line=self._number,
            column=column,
            # Junos answers a bad set line with protocol / operation-failed (junos-xml.md 4.5, vSRX load set)
            error_type="protocol" if severity == "error" else "application",
            error_tag="operation-failed" if severity == "error" else "data-missing",
        )
        (self.errors if severity == "error" else self.warnings).append(entry)

    def _words(self, line: list, start: int, end: int | None = None) -> str:
        return " ".join(text_of(t) for t in line[start:end])

    # ------------------------------------------------------------------------------------ run
    def run(self, text: str) -> None:
        """Every line runs, also after a bad one: each bad line is reported (up to ``MAX_LOAD_ERRORS``)."""
        unreadable: list[TokenizeError] = []
        self._raw, special = scan_lines(text, unreadable)
        for exc in unreadable:
            self.errors.append(syntax_error(exc.message, exc.token, line=exc.line, column=exc.column))
        set_plain = self._set_plain
        for index, raw in enumerate(self._raw):
            if len(self.errors) >= MAX_LOAD_ERRORS:
                self.errors.append(too_many_errors(index + 1))
                break
            line = special.get(index) if special else None
            if line is None:
                line = raw.split()
            if not line:
                continue  # blank, or only a comment
            self._number = index + 1
            try:
                if line[0] == "set" and line[0].__class__ is str:
                    if not set_plain(line):
                        self._set_general(line)
                else:
                    self._line(line)
            except WalkError as exc:
                self._err(exc.message, exc.token, exc.bad_element, line)

    def _line(self, line: list) -> None:
        cmd = line[0]
        command = text_of(cmd) if cmd.__class__ is str or cmd.kind == "word" else None
        handler = self._handlers.get(command)
        if handler is None:
            raise WalkError("unknown command" if command else "syntax error", cmd)
        if command not in ("set", "activate", "deactivate", "annotate"):
            self._previous = None  # the structure may change: elements reached before may be gone
        handler(self, line)

    def _segments(self, line: list, start: int, need_values: bool, end: int | None = None):
        ctx = self.stack[-1]
        words = line[:end] if end is not None else line
        plain = line[0].__class__ is str  # scan_lines gives all-str lines when nothing needs a Token
        segments, i = parse_path(
            ctx.node, words, start, need_values=need_values, continue_after_leaf=False, plain=plain
        )
        if i < len(words):
            raise WalkError("syntax error", words[i])
        if not segments and need_values:
            raise WalkError("missing argument", line[start - 1] if start else line[0], text_of(line[0]))
        return ctx, segments

    def _set(self, line: list) -> None:
        if line[0].__class__ is str and self._set_plain(line):
            return
        self._set_general(line)

    def _set_general(self, line: list) -> None:
        ctx = self.stack[-1]
        segments, i = parse_path(ctx.node, line, 1, need_values=True, continue_after_leaf=False)
        if i < len(line):
            raise WalkError("syntax error", line[i])
        if not segments:
            raise WalkError("missing argument", line[0], "set")
        if any(seg.inactive for seg in segments):
            self.clean = False
        placed = create(self.ws, ctx.element, ctx.node, segments)
        lines = self.ws.lines
        patch_elements = placed.elements
        if self.patch_ws is not None:
            patch_elements = create(self.patch_ws, ctx.patch, ctx.node, segments).elements
            lines = self.patch_ws.lines
        number = self._number
        for el in patch_elements:
            lines[el] = number
        self._previous = None

    def _set_plain(self, line: list[str]) -> bool:
        """A ``set`` line of plain words, the bulk of every big load: read and applied in one pass without
        intermediate objects, starting from the deepest statement it shares with the previous line.
        Returns False (nothing changed) for anything unusual; the general path then runs the line and
        reports its error."""
        ctx = self.stack[-1]
        start, node, element, patch_element = 1, ctx.node, ctx.element, ctx.patch
        kept: list[tuple] = []
        previous = self._previous
        if previous is not None and previous[0] is ctx:
            words = previous[1]
            shared, limit = 1, min(len(line), len(words))
            while shared < limit and line[shared] == words[shared]:
                shared += 1
            for state in previous[2]:
                if state[0] > shared:
                    break
                kept.append(state)
            if kept:
                start, node, element, patch_element = kept[-1]
        # Read the words (nothing is changed until the whole line is known to fit the schema).
        steps: list[tuple] = []  # (schema node, argument, index after it for containers and entries)
        i, n, context, at = start, len(line), node, start
        while i < n:
            at = i  # the statement's keyword (or its value, without keyword): where errors point
            child = context.children.get(line[i])
            if child is None or child.name == context.key:
                child = context.nokeyword_child
                if child is None:
                    return False
            else:
                i += 1
            kind = child.kind
            if kind == "container":
                steps.append((child, None, i))
                context = child
                continue
            if i >= n:
                return False  # missing argument
            if kind == "list":
                i += 1
                steps.append((child, line[i - 1], i))
                context = child
                continue
            if kind == "leaf" and child.is_empty_type:
                steps.append((child, None, 0))
            else:
                steps.append((child, line[i], 0))
                i += 1
            break
        if i < n or not steps:
            return False
        # Apply them to the candidate (and to the patch the load's values are type-checked in).
        ws, patch_ws = self.ws, self.patch_ws
        lines = ws.lines if patch_ws is None else patch_ws.lines
        number = self._number
        for child, arg, end in steps:
            kind = child.kind
            if kind == "container":
                el = ws.ensure_container(element, node, child)
                patch_el = el if patch_ws is None else patch_ws.ensure_container(patch_element, node, child)
            elif kind == "list":
                el = ws.ensure_entry(element, node, child, arg)[0]
                patch_el = el if patch_ws is None else patch_ws.ensure_entry(patch_element, node, child, arg)[0]
            elif kind == "leaf":
                if child.obfuscate9:  # the same secret again keeps its stored form (no change to compare)
                    arg = kept_secret(element.find(child.name), arg) or secret_value(child, arg, line[at])
                el = ws.set_leaf(element, node, child, arg)
                patch_el = el if patch_ws is None else patch_ws.set_leaf(patch_element, node, child, arg)
            else:
                el = ws.add_value(element, node, child, arg)[0]
                patch_el = el if patch_ws is None else patch_ws.add_value(patch_element, node, child, arg)[0]
            lines[patch_el] = number
            if end:
                kept.append((end, child, el, patch_el))
                element, node, patch_element = el, child, patch_el
        self._previous = (ctx, line, kept)
        return True

    def _delete(self, line: list) -> None:
        ctx, segments = self._segments(line, 1, need_values=False)
        if not segments:  # "delete" alone: everything at this level
            for child in [c for c in ctx.element if isinstance(c.tag, str)]:
                sub = ctx.node.children.get(child.tag)
                if sub is not None and not (ctx.node.kind == "list" and child.tag == ctx.node.key):
                    self.ws.remove(child, sub)
            return
        found = find(self.ws, ctx.element, ctx.node, segments)
        if found is None:
            self._err("statement not found", None, self._words(line, 1), line, "warning")
            return
        elements, node = found
        for el in elements:
            self.ws.remove(el, node)

    def _activate(self, line: list) -> None:
        self.clean = False
        ctx, segments = self._segments(line, 1, need_values=False)
        found = find(self.ws, ctx.element, ctx.node, segments)
        if found is None:
            self._err("statement not found", None, self._words(line, 1), line, "warning")
            return
        deactivate = text_of(line[0]) == "deactivate"
        for el in found[0]:
            if deactivate:
                el.set(INACTIVE, INACTIVE)
            else:
                el.attrib.pop(INACTIVE, None)

    def _insert(self, line: list) -> None:
        where_at = next((i for i, t in enumerate(line) if i > 1 and text_of(t) in ("before", "after")), None)
        if where_at is None:
            raise WalkError("missing argument", line[-1], "before|after")
        where = text_of(line[where_at])
        ctx, segments = self._segments(line, 1, need_values=True, end=where_at)
        target = segments[-1].node
        if target.kind not in ("list", "leaf-list"):
            raise WalkError("syntax error", line[where_at], where)
        refs = [text_of(t) for t in line[where_at + 1 :]]
        if len(refs) == 2 and not target.nokeyword and refs[0] == target.name:
            refs = refs[1:]
        if len(refs) != 1:
            raise WalkError("missing argument" if not refs else "syntax error", line[-1])
        moving = find(self.ws, ctx.element, ctx.node, segments)
        ref_segments = [*segments[:-1], Segment(target, refs[0] if target.kind == "list" else [refs[0]])]
        anchor = find(self.ws, ctx.element, ctx.node, ref_segments)
        if moving is None or anchor is None:
            self._err("statement not found", None, self._words(line, 1), line)
            return
        self.ws.move(moving[0][0], anchor[0][0], where)

    def _rename(self, line: list) -> None:
        to_at = next((i for i, t in enumerate(line) if i > 1 and text_of(t) == "to"), None)
        if to_at is None:
            raise WalkError("missing argument", line[-1], "to")
        ctx, segments = self._segments(line, 1, need_values=True, end=to_at)
        target = segments[-1].node
        if target.kind not in ("list", "leaf-list"):
            raise WalkError("syntax error", line[to_at], "to")
        new = [text_of(t) for t in line[to_at + 1 :]]
        if len(new) == 2 and not target.nokeyword and new[0] == target.name:
            new = new[1:]
        if len(new) != 1:
            raise WalkError("missing argument" if not new else "syntax error", line[-1])
        found = find(self.ws, ctx.element, ctx.node, segments)
        if found is None:
            self._err("statement not found", None, self._words(line, 1, to_at), line)
            return
        el = found[0][0]
        parent = el.getparent()
        exists = (
            self.ws.find_entry(parent, target, new[0]) if target.kind == "list"
            else self.ws.find_value(parent, target, new[0])
        )
        if exists is not None:
            self._err(f"{new[0]} already exists", line[-1], new[0], line)
            return
        if target.kind == "list":
            self.ws.rename_entry(el, target, new[0])
        else:
            el.text = new[0]

    def _annotate(self, line: list) -> None:
        self.clean = False
        if len(line) < 3:
            raise WalkError("missing argument", line[-1], "annotate")
        ctx, segments = self._segments(line, 1, need_values=False, end=len(line) - 1)
        found = find(self.ws, ctx.element, ctx.node, segments)
        if found is None:
            self._err("statement not found", None, self._words(line, 1, -1), line)
            return
        set_annotation(found[0][0], [text_of(line[-1])])

    def _edit_cmd(self, line: list) -> None:
        self._edit(line, 1)

    def _edit(self, line: list, start: int) -> None:
        ctx = self.stack[-1]
        segments, i = parse_path(ctx.node, line, start, need_values=True, continue_after_leaf=False)
        if i < len(line):
            raise WalkError("syntax error", line[i])
        if segments and not segments[-1].node.is_inner:
            raise WalkError("syntax error", segments[-1].token)
        placed = create(self.ws, ctx.element, ctx.node, segments)
        patch_elements = [None] * len(segments)
        if self.patch_ws is not None:
            patch_elements = create(self.patch_ws, ctx.patch, ctx.node, segments).elements
        path = ctx.path
        for seg, el, patch_el in zip(segments, placed.elements, patch_elements, strict=True):
            path = path + _path_words([seg])
            if not seg.node.flat:  # one level per statement, so "up N" climbs like Junos
                self.stack.append(_Context(el, seg.node, path, patch_el))

    def _up(self, line: list) -> None:
        count = 1
        if len(line) > 1:
            if not text_of(line[1]).isdigit():
                raise WalkError("syntax error", line[1])
            count = int(text_of(line[1]))
        for _ in range(count):
            if len(self.stack) > self.base_depth:
                self.stack.pop()

    def _top(self, line: list) -> None:
        if len(line) > 1:
            raise WalkError("syntax error", line[1])
        del self.stack[self.base_depth :]

    _handlers = {
        "set": _set,
        "delete": _delete,
        "activate": _activate,
        "deactivate": _activate,
        "insert": _insert,
        "rename": _rename,
        "annotate": _annotate,
        "edit": _edit_cmd,
        "up": _up,
        "top": _top,
        "exit": _up,
    }


# ================================================================================================ printing
def render_set(el: etree._Element, node: SchemaNode, prefix: tuple[str, ...] = ()) -> str:
    """``| display set`` of ``el``'s contents, each line starting with ``set`` + ``prefix``."""
    out: list[str] = []
    _set_lines(el, node, list(prefix), out)
    return "".join(line + "\n" for line in out)


def statement_words(el: etree._Element, node: SchemaNode) -> list[str]:
    if node.kind == "list":
        key = quote(entry_key(el, node) or "")
        return [key] if node.nokeyword else [node.name, key]
    if node.kind == "container":
        return [node.name]
    if node.is_empty_type:
        return [node.name]
    value = quote(el.text or "")
    return [value] if node.nokeyword else [node.name, value]


def render_set_statement(el: etree._Element, node: SchemaNode, prefix: tuple[str, ...]) -> str:
    out: list[str] = []
    _set_statement(el, node, list(prefix), out)
    return "".join(line + "\n" for line in out)


def _set_lines(el: etree._Element, node: SchemaNode, prefix: list[str], out: list[str]) -> None:
    for child in el:
        if not is_data(child) or (node.kind == "list" and child.tag == node.key):
            continue
        sub = node.children.get(child.tag)
        if sub is not None:
            _set_statement(child, sub, prefix, out)


def _set_statement(el: etree._Element, node: SchemaNode, prefix: list[str], out: list[str]) -> None:
    words = prefix + statement_words(el, node)
    if node.is_inner and any(
        is_data(c) and not (node.kind == "list" and c.tag == node.key) for c in el
    ):
        _set_lines(el, node, words, out)
    else:
        out.append("set " + " ".join(words))
    if is_inactive(el):
        if node.kind == "leaf" and not node.is_empty_type and not node.nokeyword:
            words = prefix + [node.name]
        out.append("deactivate " + " ".join(words))
