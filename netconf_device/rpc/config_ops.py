"""Junos configuration RPCs wired to the datastore (``netconf_device.config.datastore``).

lock-/unlock-configuration, load-configuration (every action and format, ``rollback="N"``,
``compare="rollback"``, ``rescue``), get-configuration (xml/text/set/json, ``database``,
``compare="rollback" rollback="N"``, subtree filter), commit-configuration (check, confirmed with minutes,
log, synchronize), get-commit-information, open-/close-configuration (private), rescue and rollback
information. Errors of the datastore and schema are turned into ``<rpc-error>``s by
``netconf.errors.errors_from_exception``; load errors are reported inside ``<load-configuration-results>``
like Junos does.
"""

from __future__ import annotations

import copy
import functools
import time
from typing import Any

from lxml import etree

from netconf_device.config.errors import DatastoreError
from netconf_device.netconf.errors import RpcError, RpcErrors, errors_from_exception, from_problem
from netconf_device.netconf.xmlsafe import child, child_text, local_name
from netconf_device.rpc.context import RpcContext
from netconf_device.rpc.registry import Reply, class_allows, rpc
from netconf_device.rpc.xmlbuild import el, junos_attr, sub
from netconf_device.schema.treeops import COMMENT_TAG

_LOAD_CHILDREN = {
    "configuration": "xml",
    "configuration-text": "text",
    "configuration-set": "set",
    "configuration-json": "json",
}


def datastore(ctx: RpcContext) -> Any:
    ds = ctx.device.datastore
    if ds is None:
        raise RpcError("configuration database is not available", error_type="application")
    return ds


def now() -> float:
    return time.time()


def warnings_as_elements(problems: Any) -> list[etree._Element]:
    return [from_problem(p).to_element() for p in problems]


def warnings_reply(warnings: Any) -> Reply | None:
    """``<ok/>`` (None) or the warnings as ``<rpc-error>``s of severity warning."""
    return Reply(warnings_as_elements(warnings)) if warnings else None


def raise_if_errors(problems: Any) -> None:
    """Refuse with every problem (warnings among them) when at least one is an error."""
    if any(p.severity != "warning" for p in problems):
        raise RpcErrors(from_problem(p) for p in problems)


# ----------------------------------------------------------------------------------- secrets
SECRET_PLACEHOLDER = "/* SECRET-DATA */"


@functools.cache
def _secret_leaf_paths(model: Any) -> tuple[str, ...]:
    """Paths of the secret leaves that are not list keys (passwords, pre-shared and manual keys). SSH public
    keys are list keys and stay visible: hiding them would merge the entries."""
    paths: list[str] = []

    def walk(node: Any, prefix: list[str]) -> None:
        for sub_node in node.children.values():
            here = [*prefix, sub_node.name]
            if sub_node.kind == "leaf" and sub_node.secret_data and not (node.kind == "list" and node.key == sub_node.name):
                paths.append("/".join(here))
            walk(sub_node, here)

    walk(model.root, [])
    return tuple(paths)


def visible(ctx: RpcContext, tree: etree._Element) -> etree._Element:
    """``tree`` as this session's user may see it: like Junos, a login class without the ``secret``
    permission (read-only, operator) sees ``/* SECRET-DATA */`` instead of passwords and keys."""
    if class_allows(ctx.login_class, "secret"):
        return tree
    paths = _secret_leaf_paths(datastore(ctx).schema.model)
    out = copy.deepcopy(tree)
    for path in paths:
        for leaf in out.iterfind(path):
            leaf.text = SECRET_PLACEHOLDER
    return out


def visible_text(ctx: RpcContext, text: str) -> str:
    """Text/set output of a :func:`visible` tree: Junos prints the placeholder as a bare comment."""
    if class_allows(ctx.login_class, "secret"):
        return text
    return text.replace(f'"{SECRET_PLACEHOLDER}"', SECRET_PLACEHOLDER)


# ----------------------------------------------------------------------------------- rendering helpers
def render_config(ctx: RpcContext, fmt: str, *, tree: etree._Element | None = None, path: list[str] | None = None,
                  relative: bool = False, header: bool = True) -> str:
    """The configuration (default: this session's candidate) as Junos text/set/json."""
    ds = datastore(ctx)
    tree = visible(ctx, tree if tree is not None else ds.candidate(ctx.session_id))
    if fmt == "set" and not path:
        relative = True  # the whole tree: same output, and schema.render(tree, "set") without a path fails
    text = ds.schema.render(tree, fmt, path=path or None, relative=relative)
    if fmt != "json":
        text = visible_text(ctx, text)
    if fmt == "text" and header and not path:
        head = _last_commit_line(ds)
        if head:
            text = head + "\n" + text
    return text


def _last_commit_line(ds: Any) -> str | None:
    history = ds.commit_history()
    if not history:
        return None
    info = history[0]
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(info.time))
    return f"## Last commit: {when} by {info.user}"


def _commit_attributes(ctx: RpcContext, element: etree._Element) -> None:
    ds = datastore(ctx)
    history = ds.commit_history()
    if not history:
        return
    info = history[0]
    ns = ctx.device.junos_ns
    element.set(junos_attr(ns, "commit-seconds"), str(int(info.time)))
    element.set(junos_attr(ns, "commit-localtime"), time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(info.time)))
    element.set(junos_attr(ns, "commit-user"), info.user)


def _with_junos_prefix(ctx: RpcContext, tree: etree._Element) -> etree._Element:
    """``tree``'s content under a ``<configuration>`` that declares the device's ``junos`` prefix, with the
    annotations in that namespace: ``<configuration junos:commit-seconds=..>``, ``<junos:comment>``, as Junos
    writes them (lxml would otherwise invent ``ns0:``). Takes the children of ``tree``, which must be a copy."""
    ns = ctx.device.junos_ns
    out = etree.Element("configuration", nsmap={"junos": ns})
    for key, value in tree.attrib.items():
        out.set(key, value)
    out.text = tree.text
    out.extend(list(tree))
    renamed = False
    for comment in out.iter(COMMENT_TAG):
        comment.tag = f"{{{ns}}}comment"
        renamed = True
    if renamed:
        etree.cleanup_namespaces(out, top_nsmap={"junos": ns})  # the stored annotations' own declarations
    return out


def config_xml(ctx: RpcContext, *, tree: etree._Element | None = None, path: list[str] | None = None,
               filter_element: etree._Element | None = None, commit_attributes: bool = True) -> etree._Element:
    """A copy of the configuration as ``<configuration junos:commit-...>`` (optionally filtered; the
    ``junos:commit-*`` attributes describe rollback 0, so stored configurations go without them)."""
    ds = datastore(ctx)
    tree = visible(ctx, tree if tree is not None else ds.candidate(ctx.session_id))
    if filter_element is not None:
        result = ds.schema.select(tree, filter_element)
    elif path:
        result = ds.schema.parse(ds.schema.render(tree, "set", path=path), "set")
    else:
        result = copy.deepcopy(tree)
    if result is tree:
        result = copy.deepcopy(tree)
    result = _with_junos_prefix(ctx, result)
    if commit_attributes:
        _commit_attributes(ctx, result)
    return result


def compare_text(ctx: RpcContext, rollback: int = 0) -> str:
    """``show | compare rollback N``; exactly "\\n" when nothing differs (PyEZ's test for "no diff")."""
    ds = datastore(ctx)
    if class_allows(ctx.login_class, "secret"):
        diff = ds.compare(ctx.session_id, rollback)
    else:
        diff = ds.compare_trees(visible(ctx, ds.rollback(rollback)), visible(ctx, ds.candidate(ctx.session_id)))
    if not diff:
        return "\n"
    diff = visible_text(ctx, diff)
    return diff if diff.startswith("\n") else "\n" + diff


def configuration_output(text: str) -> etree._Element:
    info = el("configuration-information")
    sub(info, "configuration-output", text)
    return info


# ----------------------------------------------------------------------------------- locks
@rpc("lock-configuration", permission="configure")
def lock_configuration(ctx: RpcContext, req: etree._Element) -> None:
    """configure exclusive (lock the candidate)"""
    datastore(ctx).lock(ctx.session_id, now())


@rpc("unlock-configuration", permission="configure")
def unlock_configuration(ctx: RpcContext, req: etree._Element) -> None:
    """unlock the candidate (uncommitted changes are discarded)"""
    datastore(ctx).unlock(ctx.session_id, now())


@rpc("open-configuration", permission="configure")
def open_configuration(ctx: RpcContext, req: etree._Element) -> Reply | None:
    """configure private"""
    ds = datastore(ctx)
    if req.find("private") is not None or child(req, "private") is not None:
        warnings = ds.open_private(ctx.session_id, now())
        return Reply(warnings_as_elements(warnings))
    if child(req, "exclusive") is not None:
        ds.lock(ctx.session_id, now())
        return None
    for mode in ("dynamic", "batch", "ephemeral", "ephemeral-instance"):
        if child(req, mode) is not None:
            raise RpcError(f"{mode} configuration database is not supported on this device", bad_element=mode)
    raise RpcError("syntax error, expecting <private> or <exclusive>", bad_element="open-configuration")


@rpc("close-configuration", permission="configure")
def close_configuration(ctx: RpcContext, req: etree._Element) -> None:
    """exit a private candidate (its uncommitted changes are discarded)"""
    datastore(ctx).close_private(ctx.session_id, now())


# ----------------------------------------------------------------------------------- load
@rpc("load-configuration", permission="configure", own_format=True)
def load_configuration(ctx: RpcContext, req: etree._Element) -> Reply:
    """load configuration into the candidate"""
    ds = datastore(ctx)
    results = el("load-configuration-results")
    try:
        warnings = _load(ctx, ds, req)
    except Exception as exc:
        errors = errors_from_exception(exc)
        for err in errors:
            results.append(err.to_element())
        sub(results, "load-error-count", sum(1 for e in errors if not e.is_warning))
        return Reply([results])
    for element in warnings_as_elements(warnings):
        results.append(element)
    sub(results, "ok")
    return Reply([results])


def _load(ctx: RpcContext, ds: Any, req: etree._Element) -> Any:
    sid = ctx.session_id
    if req.get("rescue") is not None:
        ds.load_rescue(sid, now())
        return ()
    rollback = req.get("rollback")
    if rollback is not None:
        if not rollback.strip().isdigit():
            raise RpcError(f"invalid rollback number: {rollback}", tag="invalid-value", bad_element=rollback)
        ds.load_rollback(sid, int(rollback), now())
        return ()
    if req.get("url"):
        raise RpcError("loading from a URL is not supported on this device", tag="operation-not-supported",
                       bad_element="url")
    action = (req.get("action") or "merge").lower()
    fmt = (req.get("format") or "xml").lower()
    source = None
    for element in req:
        name = local_name(element)
        if name in _LOAD_CHILDREN:
            source = element
            fmt = _LOAD_CHILDREN[name]
            break
        if name == "configuration-patch":
            raise RpcError("load patch is not supported on this device", tag="operation-not-supported",
                           bad_element="configuration-patch")
    if source is None:
        raise RpcError("syntax error, expecting <configuration>", tag="missing-element", bad_element="configuration")
    if fmt == "set":
        action = "set"
    elif action == "set":
        fmt = "set"
    if action not in ("merge", "replace", "override", "update", "set"):
        raise RpcError(f"invalid load action: {action}", tag="invalid-value", bad_element=action)
    if fmt == "xml":
        # ncclient (hence Ansible's junos_config src) wraps the file in <configuration>; a file that is a whole
        # <configuration> (a backup, show configuration | display xml) then arrives doubled: take the inner one.
        inner = [c for c in source if isinstance(c.tag, str)]
        if len(inner) == 1 and local_name(inner[0]) == "configuration":
            source = inner[0]
    data: Any = source if fmt == "xml" else (source.text or "")
    return ds.load(sid, data, format=fmt, action=action, now=now())


# ----------------------------------------------------------------------------------- get
@rpc("get-configuration", own_format=True)
def get_configuration(ctx: RpcContext, req: etree._Element) -> Reply:
    """show configuration"""
    ds = datastore(ctx)
    fmt = (req.get("format") or "xml").lower()
    if req.get("compare") == "rollback" or req.get("compare") == "":
        number = req.get("rollback") or "0"
        if not number.isdigit():
            raise RpcError(f"invalid rollback number: {number}", tag="invalid-value", bad_element=number)
        return Reply([configuration_output(compare_text(ctx, int(number)))])
    database = (req.get("database") or "candidate").lower()
    if database == "committed":
        tree = ds.running()
    elif database == "candidate":
        tree = ds.candidate(ctx.session_id)
    else:
        raise RpcError(f"invalid database: {database}", tag="invalid-value", bad_element=database)
    filt = child(req, "configuration")
    if filt is not None and len(filt) == 0:
        filt = None
    if fmt == "xml":
        return Reply([config_xml(ctx, tree=tree, filter_element=filt)])
    if filt is not None:
        tree = ds.schema.select(tree, filt)
    tree = visible(ctx, tree)
    if fmt == "json":
        return Reply([], ds.schema.render(tree, "json"))
    if fmt in ("text", "set"):
        text = render_config(ctx, fmt, tree=tree, header=database == "committed" or filt is None)
        wrapper = el("configuration-text" if fmt == "text" else "configuration-set", "\n" + text.lstrip("\n"))
        return Reply([wrapper])
    raise RpcError(f"invalid format: {fmt}", tag="invalid-value", bad_element=fmt)


# ----------------------------------------------------------------------------------- commit
@rpc("commit-configuration", permission="configure", own_format=True)
def commit_configuration(ctx: RpcContext, req: etree._Element) -> Reply:
    """commit"""
    ds = datastore(ctx)
    sid = ctx.session_id
    if child(req, "at-time") is not None:
        raise RpcError("commit at is not supported on this device", tag="operation-not-supported",
                       bad_element="at-time")
    log_text = child_text(req, "log")
    timeout = None
    if child(req, "confirmed") is not None and child(req, "check") is None:
        minutes = child_text(req, "confirm-timeout") or "10"
        if not minutes.isdigit() or not 1 <= int(minutes) <= 65535:
            raise RpcError(f"invalid confirm-timeout: {minutes}", tag="invalid-value",
                           bad_element="confirm-timeout")
        timeout = int(minutes) * 60
    try:
        if child(req, "check") is not None:
            result = ds.commit_check(sid, now())
        else:
            result = ds.commit(sid, now(), log=log_text or None, confirm_timeout=timeout, flavor="junos")
            ctx.device.timers_changed()
    except DatastoreError as exc:
        # Junos reports what stopped a commit inside <commit-results>, ending with "configuration check-out
        # failed" (junos-xml.md 4.5); clients find <rpc-error> at any depth.
        results = el("commit-results")
        for err in errors_from_exception(exc):
            results.append(err.to_element())
        return Reply([results])
    out = result.to_xml(ctx.device.junos_ns)
    elements = warnings_as_elements(result.warnings)
    return Reply([*elements, out])


@rpc("get-commit-information")
def get_commit_information(ctx: RpcContext, req: etree._Element) -> etree._Element:
    """show system commit"""
    return datastore(ctx).commit_information_xml(ctx.device.junos_ns)


def _stored_configuration(ctx: RpcContext, wrapper: str, tree: etree._Element, fmt: str,
                          diff: str | None = None) -> Reply:
    """A stored configuration (rollback N, rescue) as Junos answers it: ``<WRAPPER>`` around
    ``<configuration-information><configuration-output>`` for text (or a diff), around ``<configuration>`` for
    XML; JSON is the configuration's Junos JSON."""
    ds = datastore(ctx)
    tree = visible(ctx, tree)
    if fmt == "json" and diff is None:
        return Reply([], ds.schema.render(tree, "json"))
    outer = el(wrapper)
    if fmt in ("text", "ascii") or diff is not None:
        text = visible_text(ctx, diff if diff is not None else ds.schema.render(tree, "text"))
        outer.append(configuration_output("\n" + text.lstrip("\n")))
    elif fmt == "xml":
        outer.append(config_xml(ctx, tree=tree, commit_attributes=False))
    else:
        raise RpcError(f"invalid format: {fmt}", tag="invalid-value", bad_element=fmt)
    return Reply([outer])


def _format_argument(req: etree._Element) -> str:
    """These RPCs take the format as an argument element (``<format>text</format>``, what PyEZ sends for
    ``rescue("get")``) as well as the usual attribute."""
    return (req.get("format") or child_text(req, "format") or "xml").lower()


@rpc("get-rollback-information", own_format=True)
def get_rollback_information(ctx: RpcContext, req: etree._Element) -> Reply:
    """show system rollback N [compare M]"""
    ds = datastore(ctx)
    number = child_text(req, "rollback") or "0"
    compare = child_text(req, "compare")
    if not number.isdigit() or (compare is not None and not compare.isdigit()):
        raise RpcError("invalid rollback number", tag="invalid-value", bad_element=number)
    tree = ds.rollback(int(number))
    diff = None
    if compare is not None:
        diff = ds.compare_trees(visible(ctx, tree), visible(ctx, ds.rollback(int(compare))))
    return _stored_configuration(ctx, "rollback-information", tree, _format_argument(req), diff)


# ----------------------------------------------------------------------------------- rescue
@rpc("get-rescue-information", own_format=True)
def get_rescue_information(ctx: RpcContext, req: etree._Element) -> Reply:
    """show system configuration rescue"""
    rescue = datastore(ctx).rescue()
    if rescue is None:
        raise RpcError("Rescue configuration is not set", tag="data-missing", error_type="application")
    return _stored_configuration(ctx, "rescue-information", rescue, _format_argument(req))


@rpc("request-save-rescue-configuration", permission="maintenance")
def request_save_rescue_configuration(ctx: RpcContext, req: etree._Element) -> None:
    """request system configuration rescue save"""
    datastore(ctx).save_rescue(now(), ctx.user)


@rpc("request-delete-rescue-configuration", permission="maintenance")
def request_delete_rescue_configuration(ctx: RpcContext, req: etree._Element) -> None:
    """request system configuration rescue delete"""
    datastore(ctx).delete_rescue()
