"""RFC 6241 / RFC 6022 operations: get, get-config, edit-config, copy-config, delete-config, discard-changes,
validate, lock, unlock, commit (confirmed, confirm-timeout in seconds, persist, persist-id), cancel-commit,
close-session, kill-session, get-schema.

The datastores are Junos': ``candidate`` (shared, or the session's private copy) and ``running``;
``running`` is written only by commit (no ``:writable-running``, like Junos' default).
"""

from __future__ import annotations

import copy
from typing import Any

from lxml import etree

from netconf_device.netconf import xpath_filter
from netconf_device.netconf.errors import RpcError, bad_element, invalid_value, missing_element
from netconf_device.netconf.xmlsafe import child, child_text, local_name
from netconf_device.rpc import config_ops
from netconf_device.rpc.config_ops import config_xml, datastore, now, raise_if_errors, visible, warnings_reply
from netconf_device.rpc.context import RpcContext
from netconf_device.rpc.registry import Reply, rpc
from netconf_device.rpc.xmlbuild import el

MONITORING_NS = "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"


def _datastore_name(ctx: RpcContext, req: etree._Element, container: str, allowed: tuple[str, ...]) -> str:
    holder = child(req, container)
    if holder is None or not len(holder):
        raise missing_element(container, local_name(req))
    target = holder[0]
    name = local_name(target)
    if name not in allowed:
        if name in ("running", "candidate", "startup", "url", "config"):
            raise RpcError(f"<{container}> <{name}> is not supported by {local_name(req)}",
                           tag="operation-not-supported", bad_element=name)
        raise bad_element(name)
    return name


def _tree(ctx: RpcContext, name: str) -> etree._Element:
    ds = datastore(ctx)
    return ds.running() if name == "running" else ds.candidate(ctx.session_id)


# ----------------------------------------------------------------------------------- filters
async def _filtered(ctx: RpcContext, tree: etree._Element, filt: etree._Element | None) -> list[etree._Element]:
    """The ``<data>`` children for ``tree`` under an RFC 6241 subtree or XPath filter."""
    tree = visible(ctx, tree)
    if filt is None:
        return [config_xml(ctx, tree=tree)]
    kind = filt.get("type") or "subtree"
    if kind == "xpath":
        return [await _xpath_select(ctx, tree, filt.get("select") or "")]
    if kind != "subtree":
        raise invalid_value(f"unknown filter type: {kind}", bad_element="filter")
    out = []
    for part in filt:
        if not isinstance(part.tag, str):
            continue
        name = local_name(part)
        if name == "configuration":
            if len(part):
                out.append(config_xml(ctx, tree=tree, filter_element=part))
            else:
                out.append(config_xml(ctx, tree=tree))
        elif name == "netconf-state" and local_name(ctx.request) == "get":
            out.append(_netconf_state(ctx, part))
    return out


async def _xpath_select(ctx: RpcContext, tree: etree._Element, expression: str) -> etree._Element:
    """XPath filter over ``/configuration`` (``netconf.xpath_filter``: evaluated in a child process with a
    time limit)."""
    model = datastore(ctx).schema.model

    def key_of(path: list[str]) -> str | None:
        node = model.root
        for tag in path:
            node = node.children.get(tag) if node is not None else None
        return node.key if node is not None and node.kind == "list" else None

    try:
        result = await xpath_filter.select_isolated(tree, expression, key_of)
    except xpath_filter.XPathFilterError as exc:
        raise invalid_value(str(exc), bad_element="select") from None
    return result


def _netconf_state(ctx: RpcContext, filt: etree._Element) -> etree._Element:
    """ietf-netconf-monitoring: the schemas (for get-schema discovery) and the sessions."""
    from netconf_device.netconf.capabilities import yang_modules

    state = etree.Element(f"{{{MONITORING_NS}}}netconf-state", nsmap={None: MONITORING_NS})
    q = f"{{{MONITORING_NS}}}"
    schemas = etree.SubElement(state, q + "schemas")
    for module in yang_modules():
        entry = etree.SubElement(schemas, q + "schema")
        etree.SubElement(entry, q + "identifier").text = module.name
        etree.SubElement(entry, q + "version").text = module.revision or ""
        etree.SubElement(entry, q + "format").text = "yang"
        etree.SubElement(entry, q + "namespace").text = module.namespace
        etree.SubElement(entry, q + "location").text = "NETCONF"
    sessions = etree.SubElement(state, q + "sessions")
    for session in ctx.device.sessions.values():
        entry = etree.SubElement(sessions, q + "session")
        etree.SubElement(entry, q + "session-id").text = str(session.session_id)
        etree.SubElement(entry, q + "transport").text = "netconf-ssh"
        etree.SubElement(entry, q + "username").text = session.user
        etree.SubElement(entry, q + "source-host").text = session.peer.rsplit(":", 1)[0]
        etree.SubElement(entry, q + "in-rpcs").text = str(session.rpc_count)
    return state


def _data(elements: list[etree._Element]) -> etree._Element:
    data = el("data")
    for element in elements:
        data.append(element)
    return data


@rpc("get")
async def get(ctx: RpcContext, req: etree._Element) -> etree._Element:
    """Running configuration (and netconf-state when the filter asks for it)"""
    ctx.request = req
    return _data(await _filtered(ctx, datastore(ctx).running(), child(req, "filter")))


@rpc("get-config")
async def get_config(ctx: RpcContext, req: etree._Element) -> etree._Element:
    """A datastore's configuration"""
    ctx.request = req
    source = _datastore_name(ctx, req, "source", ("running", "candidate"))
    return _data(await _filtered(ctx, _tree(ctx, source), child(req, "filter")))


# ----------------------------------------------------------------------------------- edit
_DEFAULT_OPERATIONS = ("merge", "replace", "none")
# ignore-error is Junos' older name for continue-on-error (its NETCONF guide still lists it).
_ERROR_OPTIONS = ("stop-on-error", "continue-on-error", "rollback-on-error", "ignore-error")


@rpc("edit-config", permission="configure")
def edit_config(ctx: RpcContext, req: etree._Element) -> Reply | None:
    """Edit the candidate"""
    ds = datastore(ctx)
    _datastore_name(ctx, req, "target", ("candidate",))
    default_op = child_text(req, "default-operation") or "merge"
    if default_op not in _DEFAULT_OPERATIONS:
        raise invalid_value(f"invalid default-operation: {default_op}", bad_element="default-operation")
    test_option = child_text(req, "test-option") or "test-then-set"
    if test_option not in ("test-then-set", "set", "test-only"):
        raise invalid_value(f"invalid test-option: {test_option}", bad_element="test-option")
    error_option = child_text(req, "error-option") or "stop-on-error"
    if error_option not in _ERROR_OPTIONS:
        raise invalid_value(f"invalid error-option: {error_option}", bad_element="error-option")
    if child(req, "url") is not None:
        raise RpcError("<url> is not supported by edit-config", tag="operation-not-supported", bad_element="url")
    # stop-on-error and rollback-on-error: a refused edit changes nothing. continue-on-error (Junos:
    # ignore-error) applies every statement that loads and reports the others (XML edits that merge).
    # default-operation replace: the new configuration completely replaces the candidate (RFC 6241, and
    # Junos' "replace the candidate configuration with edit-config"); none: only statements that carry an
    # operation attribute change.
    action = "override" if default_op == "replace" else "merge"
    fmt, data = _config_source(req)
    if error_option in ("continue-on-error", "ignore-error") and fmt == "xml" and action == "merge" \
            and test_option != "test-only":
        return warnings_reply(_load_continuing(ctx, data, default_op))
    if test_option == "test-only":
        result = ds.schema.load(ds.candidate(ctx.session_id), data, fmt=fmt, action=action,
                                default_operation=default_op if default_op == "none" else "merge")
        raise_if_errors(ds.schema.validate(result.tree))
        return warnings_reply(result.warnings)
    return warnings_reply(ds.load(ctx.session_id, data, format=fmt, action=action, now=now(),
                                  default_operation=default_op if default_op == "none" else "merge"))


def _load_continuing(ctx: RpcContext, configuration: etree._Element, default_op: str) -> list:
    """continue-on-error: load the edit whole; if that fails, load each statement below on its own, splitting
    the refused ones down to the statements that are really wrong. A statement with an operation attribute
    of its own is one unit (splitting a replace would repeat it). Raises ``ConfigLoadError`` with every
    refused statement's errors after applying all the others."""
    from netconf_device.config.errors import ConfigLoadError
    from netconf_device.schema.merge import explicit_operation
    from netconf_device.schema.treeops import COMMENT_TAG

    ds = datastore(ctx)
    model = ds.schema.model
    errors: list = []
    warnings: list = []
    default = default_op if default_op == "none" else "merge"

    def piece(ancestors: list[tuple[etree._Element, Any]], element: etree._Element | None,
              comments: list[etree._Element]) -> etree._Element:
        doc = etree.Element("configuration")
        parent = doc
        for anc, node in ancestors:
            shell = etree.SubElement(parent, anc.tag)
            if node.kind == "list" and anc.find(node.key) is not None:
                shell.append(copy.deepcopy(anc.find(node.key)))
            parent = shell
        for comment in comments:
            parent.append(copy.deepcopy(comment))
        if element is not None:
            parent.append(copy.deepcopy(element))
        return doc

    def attempt(ancestors: list, element: etree._Element, node: Any, comments: list) -> None:
        whole = element if not ancestors and element.tag == "configuration" else None
        try:
            warnings.extend(ds.load(ctx.session_id, whole if whole is not None else piece(ancestors, element, comments),
                                    format="xml", action="merge", now=now(), default_operation=default))
            return
        except ConfigLoadError as exc:
            refused = exc
        inner = node is not None and node.kind in ("container", "list") and (
            whole is not None or explicit_operation(element) is None)
        kids = [c for c in element if isinstance(c.tag, str)]
        if not inner or not [c for c in kids if c.tag != COMMENT_TAG and c.tag != node.key]:
            errors.extend(refused.problems)
            return
        below = [] if whole is not None else [*ancestors, (element, node)]
        pending_comments: list = []
        for kid in kids:
            if kid.tag == COMMENT_TAG:
                pending_comments.append(kid)
                continue
            if kid.tag == node.key:
                continue
            attempt(below, kid, node.children.get(kid.tag), pending_comments)
            pending_comments = []

    attempt([], configuration, model.root, [])
    if errors:
        raise ConfigLoadError(errors)
    return warnings


def _config_source(req: etree._Element) -> tuple[str, Any]:
    """(format, data) of an edit-config/copy-config/validate ``<config>`` or ``<config-text>``."""
    config = child(req, "config")
    if config is not None:
        configuration = child(config, "configuration")
        if configuration is None:
            kids = [c for c in config if isinstance(c.tag, str)]
            if kids:
                raise bad_element(local_name(kids[0]), f"syntax error, expecting <configuration>: {local_name(kids[0])}")
            return "xml", etree.Element("configuration")
        return "xml", configuration
    text = child(req, "config-text")
    if text is not None:
        inner = child(text, "configuration-text")
        return "text", (inner.text if inner is not None else text.text) or ""
    raise missing_element("config", local_name(req))


@rpc("copy-config", permission="configure")
def copy_config(ctx: RpcContext, req: etree._Element) -> None:
    """Replace the candidate with another datastore or inline configuration"""
    ds = datastore(ctx)
    _datastore_name(ctx, req, "target", ("candidate",))
    source = child(req, "source")
    if source is None or not len(source):
        raise missing_element("source", "copy-config")
    kind = local_name(source[0])
    if kind == "running":
        ds.discard_changes(ctx.session_id, now())
        return
    if kind == "candidate":
        return
    if kind in ("config", "config-text"):
        fmt, data = _config_source(source)
        tree = ds.schema.parse(data, fmt)
        ds.set_candidate(ctx.session_id, tree, now())
        return
    raise RpcError(f"<source> <{kind}> is not supported by copy-config", tag="operation-not-supported",
                   bad_element=kind)


@rpc("delete-config", permission="configure")
def delete_config(ctx: RpcContext, req: etree._Element) -> None:
    """Neither running nor candidate may be deleted (RFC 6241 7.4)"""
    target = child(req, "target")
    name = local_name(target[0]) if target is not None and len(target) else "target"
    raise RpcError(f"<{name}> cannot be deleted", tag="operation-not-supported", bad_element=name)


@rpc("discard-changes", permission="configure")
def discard_changes(ctx: RpcContext, req: etree._Element) -> None:
    """Candidate := running"""
    datastore(ctx).discard_changes(ctx.session_id, now())


@rpc("validate", permission="configure")
def validate(ctx: RpcContext, req: etree._Element) -> Reply | None:
    """Validate a datastore or inline configuration"""
    ds = datastore(ctx)
    source = child(req, "source")
    if source is None or not len(source):
        raise missing_element("source", "validate")
    kind = local_name(source[0])
    if kind in ("candidate", "running"):
        if kind == "running":
            problems = ds.schema.validate(ds.running())
        else:
            return warnings_reply(ds.validate(ctx.session_id, now()))
    elif kind in ("config", "config-text"):
        fmt, data = _config_source(source)
        problems = ds.schema.validate(ds.schema.parse(data, fmt))
    else:
        raise RpcError(f"<source> <{kind}> is not supported by validate", tag="operation-not-supported",
                       bad_element=kind)
    raise_if_errors(problems)
    return warnings_reply(problems)


# ----------------------------------------------------------------------------------- locks
@rpc("lock", permission="configure")
def lock(ctx: RpcContext, req: etree._Element) -> None:
    """Lock the candidate (Junos locks one configuration database for both names)"""
    _datastore_name(ctx, req, "target", ("candidate", "running"))
    config_ops.lock_configuration(ctx, req)


@rpc("unlock", permission="configure")
def unlock(ctx: RpcContext, req: etree._Element) -> None:
    """Unlock the candidate"""
    _datastore_name(ctx, req, "target", ("candidate", "running"))
    config_ops.unlock_configuration(ctx, req)


# ----------------------------------------------------------------------------------- commit
@rpc("commit", permission="configure")
def commit(ctx: RpcContext, req: etree._Element) -> Reply | None:
    """Commit the candidate (RFC 6241 confirmed commit: timeout in seconds, persist, persist-id)"""
    ds = datastore(ctx)
    timeout = None
    if child(req, "confirmed") is not None:
        seconds = child_text(req, "confirm-timeout") or "600"
        if not seconds.isdigit() or int(seconds) < 1:
            raise invalid_value(f"invalid confirm-timeout: {seconds}", bad_element="confirm-timeout")
        timeout = float(seconds)
    persist = child_text(req, "persist")
    persist_id = child_text(req, "persist-id")
    result = ds.commit(ctx.session_id, now(), confirm_timeout=timeout, flavor="ietf", persist=persist or None,
                       persist_id=persist_id if persist_id is not None else None)
    ctx.device.timers_changed()
    return warnings_reply(result.warnings)


@rpc("cancel-commit", permission="configure")
def cancel_commit(ctx: RpcContext, req: etree._Element) -> None:
    """Roll back a pending confirmed commit now"""
    datastore(ctx).cancel_commit(ctx.session_id, now(), persist_id=child_text(req, "persist-id"))
    ctx.device.timers_changed()


# ----------------------------------------------------------------------------------- sessions
@rpc("close-session", permission="session")
def close_session(ctx: RpcContext, req: etree._Element) -> None:
    """End this session after the reply"""
    ctx.session.close_after_reply()


@rpc("kill-session", permission="maintenance")
def kill_session(ctx: RpcContext, req: etree._Element) -> None:
    """End another session (its locks are released)"""
    text = child_text(req, "session-id")
    if text is None:
        raise missing_element("session-id", "kill-session")
    if not text.isdigit():
        raise invalid_value(f"invalid session-id: {text}", bad_element="session-id")
    sid = int(text)
    if sid == ctx.session_id:
        raise invalid_value("cannot kill the current session", bad_element="session-id")
    victim = ctx.device.sessions.get(sid)
    if victim is None:
        raise invalid_value(f"session {sid} does not exist", bad_element="session-id")
    victim.close(f"killed by session {ctx.session_id}")


@rpc("get-schema")
def get_schema(ctx: RpcContext, req: etree._Element) -> etree._Element:
    """RFC 6022: the text of one YANG module of yang/"""
    from netconf_device.netconf.capabilities import yang_modules

    identifier = child_text(req, "identifier")
    if not identifier:
        raise missing_element("identifier", "get-schema")
    version = child_text(req, "version")
    fmt = (child_text(req, "format") or "yang").rpartition(":")[2]
    if fmt != "yang":
        raise invalid_value(f"schema format {fmt} is not available", bad_element="format")
    for module in yang_modules():
        if module.name == identifier and (not version or version == module.revision):
            data = etree.Element(f"{{{MONITORING_NS}}}data", nsmap={None: MONITORING_NS})
            data.text = module.text
            return data
    raise invalid_value(f"no schema {identifier}" + (f"@{version}" if version else ""), bad_element="identifier")
