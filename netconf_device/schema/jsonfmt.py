"""Junos JSON (``| display json``, ``<load-configuration format="json">``).

Conventions (Junos): ``{"configuration": {...}}``; lists are arrays of objects carrying their key as
``"name"``; empty leaves and empty presence containers are ``[null]``; leaf-lists are arrays; integers are
numbers; attributes of an object go in ``"@"``, those of a leaf ``x`` in ``"@x"`` (an array aligned with
the values for a leaf-list): ``{"inactive": true}``, ``{"comment": "/* ... */"}``, and on load also
``operation``, ``delete``, ``replace``, ``active``, ``insert``, ``name``, ``rename``.
"""

from __future__ import annotations

import json

from lxml import etree

from netconf_device.schema.errors import ConfigError, LoadError, syntax_error
from netconf_device.schema.treeops import COMMENT_TAG, comments_before, entry_key, is_data, is_inactive
from netconf_device.schema.yangmodel import SchemaModel, SchemaNode

MAX_JSON_BYTES = 64 * 1024 * 1024


def _error(message: str, statement: str | None, path: list[str]) -> ConfigError:
    return syntax_error(message, statement, edit_path=tuple(path))


# ================================================================================================ reading
def parse_json(model: SchemaModel, data: str | bytes) -> etree._Element:
    """Junos JSON -> XML patch rooted at ``<configuration>`` (raises LoadError)."""
    if len(data) > MAX_JSON_BYTES:
        raise LoadError([_error("configuration too large", None, [])])
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise LoadError([_error(f"JSON syntax error: {exc}", None, [])]) from exc
    if isinstance(doc, dict) and set(doc) == {"configuration"}:
        doc = doc["configuration"]
    if not isinstance(doc, dict):
        raise LoadError([_error("syntax error, expecting {\"configuration\": {...}}", None, [])])
    errors: list[ConfigError] = []
    root = etree.Element("configuration")
    _object(doc, model.root, root, [], errors, 0)
    if errors:
        raise LoadError(errors)
    return root


def _scalar(value, sub: SchemaNode, path, errors) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    if value == [None] or value is None:
        return None
    errors.append(_error("syntax error", sub.name, path))
    return None


def _apply_attrs(el: etree._Element, attrs, path, errors) -> None:
    if attrs is None:
        return
    if not isinstance(attrs, dict):
        errors.append(_error("syntax error", "@", path))
        return
    for key, value in attrs.items():
        name = key.split(":")[-1]
        if name == "comment":
            comment = etree.Element(COMMENT_TAG)
            comment.text = str(value)
            el.addprevious(comment)
        elif name in ("inactive", "active"):
            if value is True or value == name:
                el.set(name, name)
        elif name in ("operation", "delete", "replace", "insert", "name", "rename", "key", "value"):
            el.set(name, str(value))


def _object(obj: dict, node: SchemaNode, parent: etree._Element, path, errors, depth: int) -> None:
    if depth > 64:
        errors.append(_error("configuration nested too deeply", None, path))
        return
    for key, value in obj.items():
        if key == "@" or key.startswith("@"):
            continue
        sub = node.children.get(key)
        if sub is None or (node.kind == "list" and key == node.key):
            if node.kind == "list" and key == node.key:
                continue
            errors.append(_error("syntax error", key, path))
            continue
        attrs = obj.get("@" + key)
        if sub.kind == "container":
            el = etree.SubElement(parent, key)
            _apply_attrs(el, attrs, path, errors)
            if isinstance(value, dict):
                _apply_attrs(el, value.get("@"), path, errors)
                _object(value, sub, el, [*path, key], errors, depth + 1)
            elif value not in ([None], None, {}):
                errors.append(_error("syntax error", key, path))
        elif sub.kind == "list":
            entries = value if isinstance(value, list) else [value]
            for entry in entries:
                if not isinstance(entry, dict) or sub.key not in entry:
                    errors.append(_error("missing argument", key, path))
                    continue
                el = etree.SubElement(parent, key)
                etree.SubElement(el, sub.key).text = _scalar(entry[sub.key], sub, path, errors)
                _apply_attrs(el, entry.get("@"), path, errors)
                label = [] if sub.nokeyword else [key]
                _object(entry, sub, el, [*path, *label, str(entry[sub.key])], errors, depth + 1)
        elif sub.kind == "leaf":
            el = etree.SubElement(parent, key)
            el.text = _scalar(value, sub, path, errors)
            _apply_attrs(el, attrs, path, errors)
        else:
            values = value if isinstance(value, list) else [value]
            attr_list = attrs if isinstance(attrs, list) else [attrs] * len(values)
            for i, item in enumerate(values):
                el = etree.SubElement(parent, key)
                el.text = _scalar(item, sub, path, errors)
                _apply_attrs(el, attr_list[i] if i < len(attr_list) else None, path, errors)


# ================================================================================================ printing
def _typed(text: str | None, node: SchemaNode):
    if text is None:
        return None
    if node.integer:
        try:
            return int(text)
        except ValueError:
            return text
    return text


def _attrs_of(el: etree._Element) -> dict:
    attrs: dict = {}
    comments = comments_before(el)
    if comments:
        attrs["comment"] = "\n".join(c.text or "" for c in comments)
    if is_inactive(el):
        attrs["inactive"] = True
    return attrs


def to_json_object(el: etree._Element, node: SchemaNode) -> dict:
    """The JSON object for the contents of ``el`` (a container or list entry)."""
    obj: dict = {}
    own = _attrs_of(el) if node.parent is not None else {}
    if own:
        obj["@"] = own
    if node.kind == "list":
        obj[node.key] = _typed(entry_key(el, node), node.children[node.key])
    for child in el:
        if not is_data(child) or (node.kind == "list" and child.tag == node.key):
            continue
        sub = node.children.get(child.tag)
        if sub is None:
            continue
        if sub.kind == "container":
            has_content = any(is_data(c) for c in child)
            if has_content or _attrs_of(child):
                obj[sub.name] = to_json_object(child, sub)
            else:
                obj[sub.name] = [None]
        elif sub.kind == "list":
            obj.setdefault(sub.name, []).append(to_json_object(child, sub))
        elif sub.kind == "leaf":
            obj[sub.name] = [None] if sub.is_empty_type else _typed(child.text, sub)
            attrs = _attrs_of(child)
            if attrs:
                obj["@" + sub.name] = attrs
        else:
            obj.setdefault(sub.name, []).append(_typed(child.text, sub))
            attrs = _attrs_of(child)
            aligned = obj.setdefault("@" + sub.name, [])
            aligned.append(attrs or None)
    for key in [k for k in obj if k.startswith("@") and k != "@"]:
        value = obj[key]
        if isinstance(value, list) and not any(value):
            del obj[key]
    return obj


def render_json(tree: etree._Element, node: SchemaNode) -> str:
    """``{"configuration": {...}}`` of a whole configuration tree."""
    return json.dumps({"configuration": to_json_object(tree, node)}, indent=4, separators=(",", " : ")) + "\n"
