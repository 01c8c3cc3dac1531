"""Reading a statement path (``security ike gateway ike_gw address 16.1.1.2``) against the schema.

``parse_path`` turns words into segments (schema node + key/value) without touching any tree; ``create``
applies them to a workspace like ``set`` does, ``find`` locates what they name like ``delete`` does.
The ``set`` lines, the heads of text statements and CLI paths (``show configuration security ike``) all go
through here, so the three agree on keywords, keys, ``nokeyword`` values and ``[ a b ]`` lists.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from netconf_device.schema import secret
from netconf_device.schema.tokens import Token, text_of
from netconf_device.schema.treeops import Workspace
from netconf_device.schema.yangmodel import SchemaNode


class WalkError(Exception):
    """A statement that does not fit the schema: Junos' ``syntax error`` / ``missing argument``.
    ``token`` is the offending token (a Token, or a plain ``str`` word of a fast-path set line)."""

    def __init__(self, message: str, token: Token | str | None, bad_element: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.token = token
        self.bad_element = bad_element if bad_element is not None else (text_of(token) if token else None)


@dataclass(slots=True)
class Segment:
    node: SchemaNode
    arg: str | list[str] | None = None  # list key, leaf value, leaf-list values (None: not given)
    token: Token | str | None = None  # the keyword (or the value of a nokeyword node), for error positions
    inactive: tuple[str, ...] = ()  # leaf-list values marked "inactive:" inside [ ] (text format)
    end: int = 0  # containers and list entries: index of the first token after the segment


def parse_path(
    start: SchemaNode,
    tokens: list[Token | str],
    i: int,
    *,
    need_values: bool,
    continue_after_leaf: bool,
    plain: bool = False,
) -> tuple[list[Segment], int]:
    """Read segments from ``tokens[i:]`` starting at schema node ``start`` (a container or list).

    Stops at the first non-word token, or after a leaf unless ``continue_after_leaf`` (text statements
    such as ``local-identity inet 192.0.2.1`` or ``route 2.2.2.0/24 next-hop st0.1``). With
    ``need_values`` a leaf or list without its argument is ``missing argument`` (``set``); otherwise the
    argument is optional (``delete``, paths)."""
    if plain:  # a set line of plain words (all str): nothing to scan or convert
        base, words = 0, tokens
    else:
        # Only this statement's tokens (up to ";", "{", "}" or a comment): text input passes the whole file.
        base, end, total = i, i, len(tokens)
        while end < total:
            t = tokens[end]
            if t.__class__ is not str and t.kind not in ("word", "[", "]"):
                break
            end += 1
        tokens = tokens[base:end]
        i = 0
        # Plain words are str; punctuation ("[", "]") exists only as Token: words[i] is None then.
        words = [t if t.__class__ is str else (t.text if t.kind == "word" else None) for t in tokens]
    segments: list[Segment] = []
    context = start
    n = len(words)
    while i < n and words[i] is not None:
        tok = tokens[i]
        child = context.children.get(words[i])
        if child is not None and child.name == context.key:
            child = None  # the key is never given as a keyword
        if child is None:
            child = context.nokeyword_child
            if child is None:
                raise WalkError("syntax error", tok)
        else:
            i += 1
        kind = child.kind
        if kind == "container":
            segments.append(Segment(child, None, tok, (), base + i))
            context = child
            continue
        has_arg = i < n and words[i] is not None
        if kind == "list":
            if not has_arg:
                if need_values:
                    raise WalkError("missing argument", tokens[i] if i < n else tok, child.name)
                segments.append(Segment(child, None, tok))
                break
            i += 1
            segments.append(Segment(child, words[i - 1], tok, (), base + i))
            context = child
            continue
        if kind == "leaf":
            if child.is_empty_type:
                segments.append(Segment(child, None, tok))
            elif has_arg:
                segments.append(Segment(child, words[i], tok))
                i += 1
            elif need_values:
                raise WalkError("missing argument", tokens[i] if i < n else tok, child.name)
            else:
                segments.append(Segment(child, None, tok))
        else:  # leaf-list
            if i < n and words[i] is None and tokens[i].kind == "[":
                j = i + 1
                while j < n and words[j] is not None:
                    j += 1
                if j >= n or tokens[j].kind != "]":
                    raise WalkError("syntax error", tokens[j] if j < n else tokens[i], "[")
                values, inactive, flag = [], [], False
                for word in words[i + 1 : j]:
                    if word == "inactive:":
                        flag = True
                        continue
                    values.append(word)
                    if flag:
                        inactive.append(word)
                    flag = False
                if not values and need_values:
                    raise WalkError("missing argument", tokens[j], child.name)
                segments.append(Segment(child, values, tok, tuple(inactive)))
                i = j + 1
            elif has_arg:
                segments.append(Segment(child, [words[i]], tok))
                i += 1
            elif need_values:
                raise WalkError("missing argument", tokens[i] if i < n else tok, child.name)
            else:
                segments.append(Segment(child, None, tok))
        if not continue_after_leaf:
            break
    return segments, base + i


def secret_value(node: SchemaNode, value: str, token: Token | None) -> str:
    """The stored form of a value: secrets are ``$9$``-encoded, clear text is checked first."""
    if not node.obfuscate9:
        return value
    if value.startswith(secret.MAGIC):
        if not secret.is_encoded(value):
            raise WalkError("invalid $9$ secret", token, node.name)
        return value
    if not 1 <= len(value) <= 255:
        raise WalkError(f"Length of '{node.name}' must be 1..255 characters", token, node.name)
    if node.hexadecimal and any(ch not in "0123456789abcdefABCDEF" for ch in value):
        raise WalkError("Invalid hexadecimal key: use the digits 0-9 and a-f", token, node.name)
    try:
        return secret.encode9(value)
    except ValueError as exc:
        raise WalkError(f"Invalid secret: {exc}", token, node.name) from exc


@dataclass
class Placed:
    """Where a created or found statement is: its first real element, and the innermost context."""

    statement: etree._Element  # element the statement starts at (for inactive:, replace:, annotations)
    statement_node: SchemaNode
    context: etree._Element  # innermost container or list entry reached
    context_node: SchemaNode
    leaves: list[etree._Element]  # leaf / leaf-list elements set
    elements: list[etree._Element]  # one per segment (a leaf-list segment: its last value)


def create(
    ws: Workspace, element: etree._Element, node: SchemaNode, segments: list[Segment]
) -> Placed:
    """Apply ``segments`` like ``set``: create what is missing, set values, append leaf-list values."""
    first: tuple[etree._Element, SchemaNode] | None = None
    leaves: list[etree._Element] = []
    elements: list[etree._Element] = []
    for seg in segments:
        child = seg.node
        if child.kind == "container":
            el = ws.ensure_container(element, node, child)
        elif child.kind == "list":
            el, _ = ws.ensure_entry(element, node, child, seg.arg)
        elif child.kind == "leaf":
            value = None if child.is_empty_type else seg.arg
            if child.obfuscate9:
                value = kept_secret(element.find(child.name), value) or secret_value(child, value, seg.token)
            el = ws.set_leaf(element, node, child, value)
            leaves.append(el)
        else:
            el = None
            for value in seg.arg:
                el, _ = ws.add_value(element, node, child, value)
                if value in seg.inactive:
                    el.set("inactive", "inactive")
                leaves.append(el)
        elements.append(el)
        if first is None and not child.flat:
            first = (el, child)
        if child.is_inner:
            element, node = el, child
    if first is None:
        first = (element, node)
    return Placed(first[0], first[1], element, node, leaves, elements)


def find(
    ws: Workspace, element: etree._Element, node: SchemaNode, segments: list[Segment]
) -> tuple[list[etree._Element], SchemaNode] | None:
    """Elements named by ``segments`` (several for a whole list or leaf-list), or None when absent."""
    if not segments:
        return [element], node
    for pos, seg in enumerate(segments):
        child = seg.node
        last = pos == len(segments) - 1
        if child.kind == "container":
            el = element.find(child.name)
        elif child.kind == "list":
            if seg.arg is None:
                found = list(element.iterchildren(child.name))
                return (found, child) if found else None
            el = ws.find_entry(element, child, seg.arg)
        elif child.kind == "leaf":
            el = element.find(child.name)
            if el is not None and seg.arg is not None and not child.is_empty_type:
                stored = el.text or ""
                if stored != seg.arg and not (child.obfuscate9 and _same_secret(stored, seg.arg)):
                    el = None
            if el is None:
                return None
            if not last:  # a text oneliner may go on with siblings of the leaf
                continue
            return [el], child
        else:
            if seg.arg is None:
                found = list(element.iterchildren(child.name))
            else:
                found = [v for v in element.iterchildren(child.name) if (v.text or "") in seg.arg]
            if not found:
                return None
            if not last:
                continue
            return found, child
        if el is None:
            return None
        if last:
            return [el], child
        element, node = el, child
    return None


def kept_secret(existing: etree._Element | None, given: str) -> str | None:
    """The stored ``$9$`` form when ``given`` (clear text or ``$9$``) is the secret already configured: setting
    the same key again changes nothing (``show | compare`` stays empty, so Ansible reports no change)."""
    if existing is None or existing.text is None or given == existing.text:
        return existing.text if existing is not None else None
    return existing.text if _same_secret(existing.text, given) else None


def _same_secret(stored: str, given: str) -> bool:
    try:
        return secret.decode9(stored) == (secret.decode9(given) if given.startswith(secret.MAGIC) else given)
    except ValueError:
        return False
