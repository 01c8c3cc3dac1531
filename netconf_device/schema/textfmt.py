"""Junos curly-brace text, as ``show configuration`` prints it and ``load ... terminal`` reads it.

Reading produces a Junos XML patch (``replace:``, ``delete:``, ``inactive:`` and ``active:`` tags become
the XML attributes, ``/* comments */`` become ``<junos:comment>`` annotations), which ``merge`` then
applies, so text and XML loads share one set of semantics.
"""

from __future__ import annotations

import bisect

from lxml import etree

from netconf_device.schema.errors import (
    MAX_LOAD_ERRORS,
    ConfigError,
    LoadError,
    syntax_error,
    too_many_errors,
)
from netconf_device.schema.tokens import Token, TokenizeError, quote, tokenize
from netconf_device.schema.treeops import COMMENT_TAG, Workspace, entry_key, is_data, is_inactive
from netconf_device.schema.walker import WalkError, create, parse_path
from netconf_device.schema.yangmodel import SchemaModel, SchemaNode

INDENT = "    "
SECRET_MARK = " ## SECRET-DATA"
_TAGS = {"inactive:": ("inactive", "inactive"), "active:": ("active", "active"),
         "replace:": ("replace", "replace"), "delete:": ("delete", "delete")}
_IGNORED_TAGS = {"protect:", "unprotect:"}


# ================================================================================================ reading
def parse_text(
    model: SchemaModel, text: str, start_path: list[Token] | None = None
) -> tuple[etree._Element, dict]:
    """Text configuration -> (XML patch rooted at ``<configuration>``, element -> input line); raises
    LoadError with every syntax error (see :func:`read_text`)."""
    patch, lines, errors = read_text(model, text, start_path)
    if errors:
        raise LoadError(errors)
    return patch, lines


def read_text(
    model: SchemaModel, text: str, start_path: list[Token] | None = None
) -> tuple[etree._Element, dict, list[ConfigError]]:
    """Text configuration -> (XML patch, element -> input line, syntax errors).

    Like Junos, a syntax error does not end the reading: the rest of the failed statement is skipped up to
    its ``;`` or the ``}`` that closes its block ("error recovery ignores input until this point", reported
    there), and the statements after it are read and checked too, so one load reports every bad statement
    (at most ``MAX_LOAD_ERRORS``). With errors the patch holds the statements that were read; it must not be
    applied. ``start_path`` (words of an edit path) is where top-level statements belong
    (``load ... relative``); by default the root."""
    try:
        tokens = tokenize(text)
    except TokenizeError as exc:
        return etree.Element("configuration"), {}, [_error(exc.message, exc.token, exc.line, exc.column, ())]
    patch = etree.Element("configuration")
    ws = Workspace(model, patch)
    stack: list[tuple[etree._Element, SchemaNode, tuple[str, ...]]] = [(patch, model.root, ())]
    if start_path:
        try:
            segments, end = parse_path(model.root, start_path, 0, need_values=True, continue_after_leaf=False)
        except WalkError as exc:
            return patch, {}, [_error(exc.message, exc.bad_element, 1, 1, ())]
        if end != len(start_path) or (segments and not segments[-1].node.is_inner):
            return patch, {}, [_error("syntax error", " ".join(t.text for t in start_path), 1, 1, ())]
        placed = create(ws, patch, model.root, segments)
        stack.append((placed.context, placed.context_node, _path_tokens(segments)))
    base_depth = len(stack)
    errors: list[ConfigError] = []
    comments: list[str] = []
    i, n = 0, len(tokens)

    def fail(message: str, bad: str | None, at: int, path: tuple[str, ...]) -> int:
        """Report the error at ``tokens[at]``; the index to read on from (see read_text)."""
        t = tokens[at]
        errors.append(_error(message, bad, t.line, t.column, path))
        resume, stop = _recovery_point(tokens, at)
        if stop is not None and stop > at + 1:  # input was skipped: say up to where
            r = tokens[stop]
            errors.append(_error("error recovery ignores input until this point", r.text, r.line, r.column, path))
        return resume

    while i < n and len(errors) < MAX_LOAD_ERRORS:
        tok = tokens[i]
        element, node, path = stack[-1]
        if tok.kind == "comment":
            comments.append(tok.text)
            i += 1
            continue
        if tok.kind == "}":
            if len(stack) == base_depth:
                errors.append(_error("syntax error", "}", tok.line, tok.column, path))
                i += 1
                continue
            stack.pop()
            i += 1
            continue
        if tok.kind == ";":
            i += 1
            continue
        statement_start = i
        attrs: list[tuple[str, str]] = []
        while i < n and tokens[i].kind == "word" and (tokens[i].text in _TAGS or tokens[i].text in _IGNORED_TAGS):
            if tokens[i].text in _TAGS:
                attrs.append(_TAGS[tokens[i].text])
            i += 1
        if i >= n:
            errors.append(_error("syntax error", tok.text, tok.line, tok.column, path))
            break
        try:
            segments, i = parse_path(node, tokens, i, need_values=True, continue_after_leaf=True)
        except WalkError as exc:
            comments = []
            i = fail(exc.message, exc.bad_element, _index_of(tokens, exc.token, statement_start), path)
            continue
        if not segments:
            comments = []
            i = fail("syntax error", tokens[i].text, i, path)
            continue
        end = tokens[i] if i < n else None
        try:
            placed = create(ws, element, node, segments)
        except WalkError as exc:
            comments = []
            i = fail(exc.message, exc.bad_element, _index_of(tokens, exc.token, statement_start), path)
            continue
        number = segments[0].token.line if segments[0].token else tok.line
        for el in placed.elements:
            ws.lines.setdefault(el, number)
        for key, value in attrs:
            placed.statement.set(key, value)
        if comments:
            for comment_text in comments:
                comment = etree.Element(COMMENT_TAG)
                comment.text = comment_text
                placed.statement.addprevious(comment)
            comments = []
        if end is None:
            last = tokens[-1]
            errors.append(_error("syntax error", last.text, last.line, last.column, path))
            break
        if end.kind == "{":
            if not placed.context_node.is_inner or segments[-1].node.is_leafy:
                i = fail("syntax error", "{", i, path)
                continue
            stack.append((placed.context, placed.context_node, path + _path_tokens(segments)))
            i += 1
            continue
        if end.kind == ";":
            i += 1
            continue
        i = fail("syntax error", end.text, i, path)
    if len(stack) > base_depth and len(errors) < MAX_LOAD_ERRORS:
        last = tokens[-1] if tokens else Token(";", "", 1, 1)
        errors.append(_error("missing closing brace", "}", last.line, last.column, stack[-1][2]))
    if len(errors) >= MAX_LOAD_ERRORS and i < n:
        errors.append(too_many_errors(tokens[i].line))
    lines = ws.lines
    ws.finish()
    return patch, lines, errors


def _index_of(tokens: list[Token], token: Token | None, default: int) -> int:
    """Index of ``token`` (a token of ``tokens``, found by its position), at least ``default``."""
    if token is None or token.__class__ is str:
        return default
    at = bisect.bisect_left(tokens, (token.line, token.column), key=lambda t: (t.line, t.column))
    return max(at, default) if at < len(tokens) else default


def _recovery_point(tokens: list[Token], at: int) -> tuple[int, int | None]:
    """Where reading goes on after an error at ``tokens[at]``: after the ``;`` that ends the statement or the
    ``}`` that closes a block it opened; at a ``}`` that closes the enclosing block (read normally, it ends
    that block). Returns (index to read on from, index of that token or None at the end of the input)."""
    depth = 0
    for k in range(at, len(tokens)):
        kind = tokens[k].kind
        if kind == "{":
            depth += 1
        elif kind == "}":
            if depth == 0:
                return k, k
            depth -= 1
            if depth == 0:
                return k + 1, k
        elif kind == ";" and depth == 0:
            return k + 1, k
    return len(tokens), None


def _path_tokens(segments) -> tuple[str, ...]:
    out: list[str] = []
    for seg in segments:
        if seg.node.kind in ("container",):
            out.append(seg.node.name)
        elif seg.node.kind == "list":
            if not seg.node.nokeyword:
                out.append(seg.node.name)
            out.append(seg.arg)
    return tuple(out)


def _error(message: str, token: str | None, line: int, column: int, path) -> ConfigError:
    return syntax_error(message, token, line=line, column=column, edit_path=tuple(path))


# ================================================================================================ printing
def _leaf_words(el: etree._Element, node: SchemaNode) -> list[str]:
    if node.is_empty_type:
        return [node.name]
    value = quote(el.text or "")
    return [value] if node.nokeyword else [node.name, value]


def _entry_words(el: etree._Element, node: SchemaNode) -> list[str]:
    key = quote(entry_key(el, node) or "")
    return [key] if node.nokeyword else [node.name, key]


def _groups(el: etree._Element, node: SchemaNode):
    """Children of ``el`` as statements: (comments, schema node, [elements]) with leaf-list values grouped."""
    comments: list[etree._Element] = []
    out: list[tuple[list[etree._Element], SchemaNode, list[etree._Element]]] = []
    for child in el:
        if not isinstance(child.tag, str):
            continue
        if child.tag == COMMENT_TAG:
            comments.append(child)
            continue
        if node.kind == "list" and child.tag == node.key:
            continue
        sub = node.children.get(child.tag)
        if sub is None:
            continue
        if (
            sub.kind == "leaf-list"
            and out
            and out[-1][1] is sub
            and not comments
        ):
            out[-1][2].append(child)
            continue
        out.append((comments, sub, [child]))
        comments = []
    return out


def _has_secret(el: etree._Element, node: SchemaNode) -> bool:
    if node.secret_data:
        return True
    if node.kind == "list" and node.children[node.key].secret_data:
        return True
    for child in el:
        if is_data(child):
            sub = node.children.get(child.tag)
            if sub is not None and _has_secret(child, sub):
                return True
    return False


def _flatten(el: etree._Element, node: SchemaNode) -> list[str]:
    words: list[str] = []
    for _comments, sub, els in _groups(el, node):
        if sub.kind == "leaf-list":
            words += _leaf_list_words(els, sub)
            continue
        for child in els:
            if sub.kind == "leaf":
                words += _leaf_words(child, sub)
            elif sub.kind == "container":
                words += ([] if sub.nokeyword else [sub.name]) + _flatten(child, sub)
            else:
                words += _entry_words(child, sub) + _flatten(child, sub)
    return words


def _leaf_list_words(els: list[etree._Element], node: SchemaNode) -> list[str]:
    values = [("inactive: " if is_inactive(e) else "") + quote(e.text or "") for e in els]
    head = [] if node.nokeyword else [node.name]
    if len(values) == 1:
        return head + values
    return head + ["["] + values + ["]"]


def render_statements(el: etree._Element, node: SchemaNode, depth: int, out: list[str], prefix: str = "") -> None:
    """Append the text lines of ``el``'s children (one statement each) at ``depth``."""
    for comments, sub, els in _groups(el, node):
        pad = INDENT * depth
        for comment in comments:
            out.append(pad + (comment.text or ""))
        if sub.kind == "leaf-list":
            inactive = all(is_inactive(e) for e in els) and len(els) == 1
            words = _leaf_list_words(els, sub)
            if inactive:
                words = _leaf_list_words([_plain(els[0])], sub)
            line = pad + ("inactive: " if inactive else "") + prefix + " ".join(words) + ";"
            out.append(line + (SECRET_MARK if sub.secret_data else ""))
            continue
        for child in els:
            render_statement(child, sub, depth, out, prefix)


def _plain(el: etree._Element) -> etree._Element:
    copy = etree.Element(el.tag)
    copy.text = el.text
    return copy


def render_statement(el: etree._Element, node: SchemaNode, depth: int, out: list[str], prefix: str = "") -> None:
    pad = INDENT * depth
    tag = "inactive: " if is_inactive(el) else ""
    if node.kind == "leaf":
        line = pad + tag + prefix + " ".join(_leaf_words(el, node)) + ";"
        out.append(line + (SECRET_MARK if node.secret_data else ""))
        return
    if node.kind == "leaf-list":
        out.append(pad + tag + prefix + " ".join(_leaf_list_words([_plain(el)], node)) + ";")
        return
    if node.flat:  # family inet { ... }: the keyword prefixes each child statement
        if tag:  # an inactive flat container cannot be shown flat
            head = prefix + node.name
            out.append(pad + tag + head + " {")
            render_statements(el, node, depth + 1, out)
            out.append(pad + "}")
            return
        render_statements(el, node, depth, out, prefix + node.name + " ")
        return
    head = prefix + " ".join(_entry_words(el, node) if node.kind == "list" else [node.name])
    children = [c for c in el if isinstance(c.tag, str) and not (node.kind == "list" and c.tag == node.key)]
    secret_mark = SECRET_MARK if _has_secret(el, node) else ""
    if node.oneliner or (children and all(
        c.tag != COMMENT_TAG and node.children.get(c.tag) is not None and node.children[c.tag].nokeyword
        and node.children[c.tag].kind == "leaf" for c in children
    )):  # oneliners, and containers that only hold a value without keyword ("hostname a.example;")
        words = _flatten(el, node)
        out.append(pad + tag + " ".join([head, *words]) + ";" + secret_mark)
        return
    if not children:
        out.append(pad + tag + head + ";" + secret_mark)
        return
    if node.oneliner_plus:
        groups = _groups(el, node)
        if (
            len(groups) == 1
            and not groups[0][0]
            and groups[0][1].is_leafy
            and not any(is_inactive(e) for e in groups[0][2])
        ):
            sub, els = groups[0][1], groups[0][2]
            words = _leaf_list_words(els, sub) if sub.kind == "leaf-list" else _leaf_words(els[0], sub)
            out.append(pad + tag + " ".join([head, *words]) + ";" + (SECRET_MARK if sub.secret_data else ""))
            return
    out.append(pad + tag + head + " {")
    render_statements(el, node, depth + 1, out)
    out.append(pad + "}")


def render_text(el: etree._Element, node: SchemaNode, whole_statement: bool = False) -> str:
    """Text of ``el``'s contents (``show configuration [path]``), or of ``el`` itself."""
    out: list[str] = []
    if whole_statement:
        render_statement(el, node, 0, out)
    else:
        render_statements(el, node, 0, out)
    return "".join(line + "\n" for line in out)


def statement_lines(el: etree._Element, node: SchemaNode, depth: int) -> list[str]:
    """The lines of one statement at ``depth`` (used by ``show | compare``)."""
    out: list[str] = []
    render_statement(el, node, depth, out)
    return out
