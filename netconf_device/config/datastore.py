"""The configuration datastore of one device: candidate, running, rollbacks, locks, commits.

Used by the NETCONF server (``netconf`` branch), the device's event loop and the offline CLI. Sans-IO for
time: every method that depends on the clock takes ``now`` (seconds since the epoch, ``time.time()``), and the
device's event loop drives confirmed-commit expiry with ``next_deadline()`` / ``on_timer(now)``. No threads.

Typical NETCONF flow::

    ds = Datastore(state_dir)                     # loads running, rollbacks, rescue, pending confirmed commit
    ds.add_apply_callback(iked_apply)             # callback(old: Intent, new: Intent); raise to veto
    ds.add_apply_callback(pfe_apply)
    ds.start(now)                                 # applies Intent() -> running through the callbacks (after
                                                  # rolling back a confirmed commit that expired while down)
    ds.open_session(sid, user="lab", client="netconf", now=now)
    ds.lock(sid, now)                             # LockError(holder=...) when someone else holds it
    ds.load(sid, text, format="set", action="set", now=now)   # ConfigLoadError: candidate unchanged
    diff = ds.compare(sid)                        # "" when nothing changed (show | compare)
    result = ds.commit(sid, now, log="change 42") # CommitError with every problem; nothing committed
    result.to_xml()                               # <commit-results> ... </commit-results>
    ds.unlock(sid, now)                           # discards uncommitted changes, like Junos
    ds.close_session(sid, now)

Trees: configurations are lxml ``<configuration>`` elements (unqualified, Junos XML). Methods returning a
tree return the datastore's own object, for speed: treat it as read-only (``copy.deepcopy`` to edit).

Candidates: one shared candidate (Junos ``configure`` / NETCONF ``<candidate/>``) plus one private candidate
per session that called ``open_private`` (``<open-configuration><private/>``). Edits go to the session's
private candidate when it has one, else to the shared one. A private commit merges the session's own changes
(since it opened the private copy, or since its last commit) into the current running configuration.

Commit metadata (``CommitInfo``, the element names of ``<commit-history>``): ``user``, ``client`` ("netconf",
"cli"; "other" for automatic rollbacks), ``time``, ``log`` (the user's message: NETCONF ``<log>``, CLI
``commit comment``) and ``comment`` (Junos' own note, e.g. ``commit confirmed, rollback in 5mins``).

Confirmed commits: ``commit(..., confirm_timeout=seconds)``. ``flavor="junos"`` (``<commit-configuration>``
and the CLI; timeout given in minutes there, pass ``minutes * 60``): any later commit or commit check confirms.
``flavor="ietf"`` (RFC 6241 ``<commit>``): only the issuing session confirms, or any session presenting the
``persist`` token as ``persist_id``; the issuing session ending cancels a non-persist one. Either way the
configuration returns to what it was before the first confirmed commit of the series when the deadline
passes, also across a restart (the pending commit is kept in the state directory).
"""

from __future__ import annotations

import copy
import fcntl
import logging
import math
import os
import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from netconf_device.config.confirmed import Flavor, PendingConfirm, PendingStore
from netconf_device.config.errors import (
    CommitError,
    ConfigLoadError,
    DatastoreError,
    LockError,
    Problem,
    StateError,
    problem,
)
from netconf_device.config.history import MAX_ROLLBACK, CommitInfo, CommitStore
from netconf_device.config.intent import Intent, IntentDiff, diff_intent
from netconf_device.config.merge3 import merge3
from netconf_device.schema import LoadError, Schema, get_schema, secret
from netconf_device.schema.gcpause import collector_paused
from netconf_device.show.junos_version import JUNOS_NS  # the one source of the Junos release

log = logging.getLogger("netconf_device.config")

ApplyCallback = Callable[[Intent, Intent], None]
CHECKOUT_FAILED = problem("configuration check-out failed")
AUTO_ROLLBACK_USER = "root"
ROLLBACK_RETRY_SECONDS = 5.0
SECRET_CACHE_LIMIT = 100_000


def _lock_state_dir(state_dir: Path) -> int:
    """Hold an exclusive lock on the state directory for the datastore's life: two device processes on one
    directory would delete each other's in-flight commits."""
    fd = os.open(state_dir / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise StateError(problem(f"state directory {state_dir} is in use by another running device",
                                 error_type="application")) from None
    return fd


def empty_configuration() -> etree._Element:
    return etree.Element("configuration")


def format_time(seconds: float) -> str:
    """Junos' date-time text: ``2021-07-05 14:11:17 UTC`` (the device runs on UTC)."""
    return _time.strftime("%Y-%m-%d %H:%M:%S UTC", _time.gmtime(seconds))


def _format_idle(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


@dataclass
class SessionInfo:
    """A management session known to the datastore (NETCONF session id, or a CLI's pid)."""

    session_id: int
    user: str
    client: str = "netconf"  # "netconf" | "cli" | ...
    started: float = 0.0
    tty: str = ""
    last_activity: float = 0.0


@dataclass
class _PrivateCandidate:
    base: etree._Element  # running configuration the private copy started from
    tree: etree._Element
    modified: bool = False


@dataclass(frozen=True)
class CommitResult:
    """Outcome of a commit, commit check or automatic rollback."""

    check: bool  # commit check: nothing was committed
    old: Intent
    new: Intent
    info: CommitInfo | None = None  # the new rollback 0 (None for a check)
    warnings: tuple[Problem, ...] = ()
    confirm_deadline: float | None = None  # set when this commit must be confirmed
    automatic: bool = False  # rollback of an unconfirmed (or cancelled) confirmed commit

    def diff(self) -> IntentDiff:
        return diff_intent(self.old, self.new)

    def to_xml(self, junos_ns: str = JUNOS_NS, re_name: str = "re0") -> etree._Element:
        """``<commit-results><routing-engine junos:style="normal"><name>re0</name><commit-success/>...``"""
        results = etree.Element("commit-results", nsmap={"junos": junos_ns})
        engine = etree.SubElement(results, "routing-engine", {f"{{{junos_ns}}}style": "normal"})
        etree.SubElement(engine, "name").text = re_name
        etree.SubElement(engine, "commit-check-success" if self.check else "commit-success")
        return results


@dataclass
class _State:
    """Everything the datastore holds in memory besides the on-disk store."""

    running: etree._Element
    intent: Intent = field(default_factory=Intent)
    shared: etree._Element | None = None  # None: the shared candidate equals running
    shared_editors: set[int] = field(default_factory=set)
    private: dict[int, _PrivateCandidate] = field(default_factory=dict)
    sessions: dict[int, SessionInfo] = field(default_factory=dict)
    lock_holder: int | None = None
    pending: PendingConfirm | None = None
    pending_target: etree._Element | None = None


class Datastore:
    """Candidate, running and rollback configurations of one device, persisted in ``state_dir``."""

    def __init__(self, state_dir: Path | str, *, schema: Schema | None = None,
                 compile_base_dir: Path | str | None = None):
        from netconf_device.config import compile as compile_module  # noqa: F401  (fail early if broken)

        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock_fd: int | None = _lock_state_dir(self.state_dir)  # before anything reads or cleans it
        self._schema = schema if schema is not None else get_schema()
        self._compile_base_dir = Path(compile_base_dir) if compile_base_dir else None
        self._store = CommitStore(self.state_dir)
        self._pending_store = PendingStore(self.state_dir)
        running = self._store.load(self._store.head) if self._store.head else empty_configuration()
        self._s = _State(running=running)
        self._callbacks: list[ApplyCallback] = []
        self._started = False
        self._retry_at = 0.0  # earliest retry of a failed automatic rollback
        self._secret_cache: dict[str, str] = {}
        loaded = self._pending_store.load()
        if loaded is not None:
            pending, target = loaded
            if pending.sequence == self._store.head:
                self._s.pending, self._s.pending_target = pending, target
            else:  # a later commit confirmed it, or the confirmed commit itself never reached HEAD
                self._pending_store.clear()

    # ============================================================================ lifecycle, engines
    def close(self) -> None:
        """Release the state directory (the device stops). Pending confirmed commits stay on disk."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> Datastore:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def add_apply_callback(self, callback: ApplyCallback) -> None:
        """``callback(old, new)`` runs on every commit before it becomes running (and on rollbacks).
        Raising vetoes the commit: callbacks that already ran get ``(new, old)`` to undo."""
        self._callbacks.append(callback)

    def start(self, now: float) -> Intent:
        """Bring the engines from nothing to the running configuration (through the apply callbacks).

        A confirmed commit that expired while the device was down (or an RFC 6241 one whose session is
        necessarily gone) is rolled back first, so the engines never see the unconfirmed configuration.
        """
        if self._started:
            raise RuntimeError("datastore already started")
        self._started = True  # before _apply below, which insists on it
        pending = self._s.pending
        if pending is not None and (now >= pending.deadline or (pending.flavor == "ietf" and not pending.persist)):
            log.warning("confirmed commit %d was not confirmed before the restart: rolling back", pending.sequence)
            self._s.running = self._s.pending_target
            intent = self._compile(self._s.running)
            self._persist(self._s.running, self._rollback_fields(now, AUTO_ROLLBACK_USER, "other", "not confirmed"),
                          pending=None)
        else:
            intent = self._compile(self._s.running)
        self._apply(Intent(), intent)
        self._s.intent = intent
        return intent

    @property
    def running_intent(self) -> Intent:
        return self._s.intent

    @property
    def schema(self) -> Schema:
        return self._schema

    # ============================================================================ sessions
    def open_session(self, session_id: int, user: str, *, client: str = "netconf", now: float, tty: str = "") -> None:
        if session_id in self._s.sessions:
            raise ValueError(f"session {session_id} already open")
        self._s.sessions[session_id] = SessionInfo(session_id, user, client, now, tty, now)

    def close_session(self, session_id: int, now: float) -> CommitResult | None:
        """The session ended: release its lock (discarding uncommitted shared changes, like Junos), drop its
        private candidate, and roll back an RFC 6241 confirmed commit it issued without ``persist``."""
        self._session(session_id)
        if self._s.lock_holder == session_id:
            self._release_lock()
        self._s.private.pop(session_id, None)
        pending = self._s.pending
        try:
            if pending is not None and pending.flavor == "ietf" and not pending.persist \
                    and pending.session_id == session_id:
                info = self._s.sessions[session_id]
                return self._rollback_pending(now, info.user, info.client, "cancelled: session closed")
            return None
        finally:
            del self._s.sessions[session_id]

    def session(self, session_id: int) -> SessionInfo:
        return self._session(session_id)

    def _session(self, session_id: int, now: float | None = None) -> SessionInfo:
        try:
            info = self._s.sessions[session_id]
        except KeyError:
            raise DatastoreError(f"unknown session {session_id}") from None
        if now is not None:
            info.last_activity = now
        return info

    # ============================================================================ reading
    def running(self) -> etree._Element:
        return self._s.running

    def candidate(self, session_id: int) -> etree._Element:
        """The candidate this session sees: its private copy, or the shared candidate."""
        self._session(session_id)
        private = self._s.private.get(session_id)
        if private is not None:
            return private.tree
        return self._s.shared if self._s.shared is not None else self._s.running

    def rollback(self, number: int) -> etree._Element:
        """Rollback ``number`` (0 = running ... 49); ``DatastoreError`` if it does not exist."""
        if number == 0:
            return self._s.running
        seq = self._store.sequence_of(number) if 0 <= number <= MAX_ROLLBACK else None
        if seq is None:
            raise DatastoreError(problem(f"rollback {number} does not exist", error_tag="invalid-value",
                                            error_type="application"))
        return self._store.load(seq)

    def commit_history(self) -> list[CommitInfo]:
        """``show system commit``: rollback 0 first (the list index is the rollback number)."""
        return self._store.history()

    def commit_information_xml(self, junos_ns: str = JUNOS_NS) -> etree._Element:
        """``<commit-information>`` with one ``<commit-history>`` per rollback (``get-commit-information``)."""
        root = etree.Element("commit-information", nsmap={"junos": junos_ns})
        for number, info in enumerate(self.commit_history()):
            entry = etree.SubElement(root, "commit-history")
            etree.SubElement(entry, "sequence-number").text = str(number)
            etree.SubElement(entry, "user").text = info.user
            etree.SubElement(entry, "client").text = info.client
            when = etree.SubElement(entry, "date-time", {f"{{{junos_ns}}}seconds": str(int(info.time))})
            when.text = format_time(info.time)
            if info.comment:
                etree.SubElement(entry, "comment").text = info.comment
            if info.log:
                etree.SubElement(entry, "log").text = info.log
        return root

    def is_modified(self, session_id: int) -> bool:
        """Whether the session's candidate has uncommitted changes."""
        self._session(session_id)
        private = self._s.private.get(session_id)
        if private is not None:
            return private.modified
        return self._s.shared is not None

    # ============================================================================ compare
    def compare(self, session_id: int, rollback: int = 0) -> str:
        """``show | compare [rollback N]``: rollback N -> this session's candidate ("" when equal)."""
        return self._schema.compare(self.rollback(rollback), self.candidate(session_id))

    def compare_trees(self, old: etree._Element, new: etree._Element) -> str:
        return self._schema.compare(old, new)

    # ============================================================================ editing the candidate
    def load(self, session_id: int, source: str | bytes | etree._Element, *, format: str, action: str,
             now: float, path: str | list[str] | None = None, default_operation: str = "merge") -> tuple[Problem, ...]:
        """``load-configuration``: merge | replace | override | update | set (``path``: load relative to that
        edit path; ``default_operation``: NETCONF's, see ``Schema.load``). Returns warnings; on error raises
        ``ConfigLoadError`` (every error) and the candidate is unchanged."""
        self._check_can_edit(session_id, now)
        try:
            result = self._schema.load(self.candidate(session_id), source, fmt=format, action=action, path=path,
                                       default_operation=default_operation)
        except LoadError as exc:
            raise ConfigLoadError(exc.errors) from None
        self._set_candidate(session_id, result.tree)
        return tuple(result.warnings)

    def set_candidate(self, session_id: int, tree: etree._Element, now: float) -> None:
        """Replace the session's candidate with ``tree`` (e.g. after an ``<edit-config>``)."""
        self._check_can_edit(session_id, now)
        self._set_candidate(session_id, tree)

    def load_rollback(self, session_id: int, number: int, now: float) -> None:
        """``load-configuration rollback="N"`` / ``rollback N``: the candidate becomes rollback N."""
        self._check_can_edit(session_id, now)
        self._set_candidate(session_id, copy.deepcopy(self.rollback(number)))

    def load_rescue(self, session_id: int, now: float) -> None:
        """``load-configuration rescue="rescue"`` / ``rollback rescue``."""
        self._check_can_edit(session_id, now)
        rescue = self._store.load_rescue()
        if rescue is None:
            raise DatastoreError(problem("Rescue configuration is not set", error_tag="data-missing",
                                            error_type="application"))
        self._set_candidate(session_id, rescue)

    def discard_changes(self, session_id: int, now: float) -> None:
        """``<discard-changes/>`` / ``rollback 0``: the session's candidate becomes the running one."""
        self._check_can_edit(session_id, now)
        private = self._s.private.get(session_id)
        if private is not None:
            self._reset_private(private)
        else:
            self._s.shared = None
            self._s.shared_editors.clear()

    def _check_can_edit(self, session_id: int, now: float) -> None:
        self._session(session_id, now)
        holder = self._s.lock_holder
        if session_id not in self._s.private and holder is not None and holder != session_id:
            raise self._locked_error(holder, now, "in-use")

    def _set_candidate(self, session_id: int, tree: etree._Element) -> None:
        private = self._s.private.get(session_id)
        if private is not None:
            private.tree, private.modified = tree, True
        else:
            self._s.shared = tree
            self._s.shared_editors.add(session_id)

    # ============================================================================ locks, private
    def lock(self, session_id: int, now: float) -> None:
        """``<lock-configuration/>`` / ``<lock><target><candidate/>``: exclusive use of the shared candidate."""
        self._session(session_id, now)
        holder = self._s.lock_holder
        if holder is not None:
            raise self._locked_error(holder, now, "lock-denied")
        if self._s.shared is not None and self._s.shared_editors - {session_id}:
            raise LockError(problem("configuration database modified", error_tag="lock-denied"), holder=None)
        self._s.lock_holder = session_id

    def unlock(self, session_id: int, now: float) -> None:
        """Release the lock; uncommitted changes to the shared candidate are discarded (Junos)."""
        self._session(session_id, now)
        holder = self._s.lock_holder
        if holder is None:
            raise LockError(problem("Configuration database is not open"), holder=None)
        if holder != session_id:
            raise self._locked_error(holder, now, "lock-denied")
        self._release_lock()

    def lock_holder(self) -> SessionInfo | None:
        holder = self._s.lock_holder
        return self._s.sessions.get(holder) if holder is not None else None

    def _release_lock(self) -> None:
        self._s.lock_holder = None
        self._s.shared = None
        self._s.shared_editors.clear()

    def _locked_error(self, holder_id: int, now: float, tag: str) -> LockError:
        holder = self._s.sessions[holder_id]
        text = (f"configuration database locked by:\n  {holder.user} terminal {holder.tty} (pid {holder.session_id}) "
                f"on since {format_time(holder.started)}, idle {_format_idle(now - holder.last_activity)}\n"
                f"      exclusive")
        return LockError(problem(text, error_tag=tag), holder=holder)

    def open_private(self, session_id: int, now: float) -> tuple[Problem, ...]:
        """``<open-configuration><private/>``: a per-session copy of running. Returns Junos' warning."""
        self._session(session_id, now)
        if session_id not in self._s.private:
            if self._s.shared is not None:
                raise DatastoreError(problem("shared configuration database modified", error_tag="in-use"))
            holder = self._s.lock_holder
            if holder is not None and holder != session_id:
                raise self._locked_error(holder, now, "in-use")
            self._s.private[session_id] = _PrivateCandidate(self._s.running, copy.deepcopy(self._s.running))
        return (problem("uncommitted changes will be discarded on exit", severity="warning"),)

    def close_private(self, session_id: int, now: float) -> None:
        """``<close-configuration/>``: drop the private candidate and its uncommitted changes."""
        self._session(session_id, now)
        if self._s.private.pop(session_id, None) is None:
            raise DatastoreError(problem("Configuration database is not open"))

    def has_private(self, session_id: int) -> bool:
        return session_id in self._s.private

    def _reset_private(self, private: _PrivateCandidate) -> None:
        private.base, private.tree, private.modified = self._s.running, copy.deepcopy(self._s.running), False

    # ============================================================================ rescue
    def save_rescue(self, now: float, user: str = "root") -> None:
        """``request system configuration rescue save``: the running configuration becomes the rescue one."""
        self._store.save_rescue(self._s.running, {"time": now, "user": user})

    def delete_rescue(self) -> bool:
        return self._store.delete_rescue()

    def rescue(self) -> etree._Element | None:
        return self._store.load_rescue()

    # ============================================================================ validate, commit
    def validate(self, session_id: int, now: float) -> tuple[Problem, ...]:
        """``<validate>``: commit check without side effects. Returns warnings; raises ``CommitError``."""
        self._session(session_id, now)
        warnings, _ = self._check(self._commit_source(session_id))
        return warnings

    def commit_check(self, session_id: int, now: float) -> CommitResult:
        """``commit check``. Like Junos, a successful check also confirms a pending ``commit confirmed``."""
        self._session(session_id, now)
        warnings, intent = self._check(self._commit_source(session_id))
        pending = self._s.pending
        if pending is not None and pending.flavor == "junos":
            self._clear_pending()
        return CommitResult(check=True, old=self._s.intent, new=intent, warnings=warnings)

    def commit(self, session_id: int, now: float, *, log: str | None = None, confirm_timeout: float | None = None,
               flavor: Flavor = "junos", persist: str | None = None, persist_id: str | None = None) -> CommitResult:
        """Validate, compile, apply (callbacks), then make the candidate running with a new rollback 0.

        ``confirm_timeout`` (seconds) makes it a confirmed commit; see the module docstring for ``flavor``,
        ``persist`` and ``persist_id``. Raises ``CommitError`` (every problem, ending with ``configuration
        check-out failed``), ``LockError`` or ``StateError``; then nothing changed.
        """
        session = self._session(session_id, now)
        if confirm_timeout is not None and confirm_timeout <= 0:
            raise DatastoreError(problem("confirm-timeout must be positive", error_tag="invalid-value"))
        holder = self._s.lock_holder
        if holder is not None and holder != session_id:
            raise self._locked_error(holder, now, "in-use")
        if session_id in self._s.private and self._s.shared is not None:
            raise DatastoreError(problem("shared configuration database modified", error_tag="in-use"))
        self._check_confirm_permission(session_id, persist_id)
        tree = self._commit_source(session_id)
        warnings, intent = self._check(tree)
        comment = None
        new_pending = None
        if confirm_timeout is not None:
            comment = f"commit confirmed, rollback in {max(1, math.ceil(confirm_timeout / 60))}mins"
            previous = self._s.pending
            new_pending = PendingConfirm(
                sequence=0, deadline=now + confirm_timeout, flavor=flavor, user=session.user,
                client=session.client, session_id=session_id, persist=persist,
                started=previous.started if previous else now)
        fields = {"time": now, "user": session.user, "client": session.client, "log": log, "comment": comment}
        old_intent = self._s.intent
        target = self._s.pending_target if self._s.pending is not None else self._s.running
        self._apply(old_intent, intent)
        try:
            info = self._persist(tree, fields, pending=new_pending, pending_target=target)
        except BaseException:
            self._undo_apply(old_intent, intent)
            raise
        self._s.intent = intent
        private = self._s.private.get(session_id)
        if private is not None:
            self._reset_private(private)
        else:
            self._s.shared = None
            self._s.shared_editors.clear()
        return CommitResult(check=False, old=old_intent, new=intent, info=info, warnings=warnings,
                            confirm_deadline=new_pending.deadline if new_pending else None)

    def cancel_commit(self, session_id: int, now: float, persist_id: str | None = None) -> CommitResult:
        """RFC 6241 ``<cancel-commit>``: roll back the pending confirmed commit now."""
        session = self._session(session_id, now)
        if self._s.pending is None:
            raise DatastoreError(problem("no confirmed commit is pending", error_tag="operation-failed",
                                            error_type="protocol"))
        self._check_confirm_permission(session_id, persist_id, cancelling=True)
        return self._rollback_pending(now, session.user, session.client, "cancelled")

    # ---------------------------------------------------------------- confirmed commit timer (sans-IO)
    @property
    def pending_confirm(self) -> PendingConfirm | None:
        return self._s.pending

    def next_deadline(self) -> float | None:
        """When ``on_timer`` must next be called (None: no timer needed)."""
        if self._s.pending is None:
            return None
        return max(self._s.pending.deadline, self._retry_at)

    def on_timer(self, now: float) -> CommitResult | None:
        """Roll back a confirmed commit whose deadline has passed; returns what was applied, if anything.
        Never raises: if an engine vetoes the rollback it is retried ``ROLLBACK_RETRY_SECONDS`` later."""
        pending = self._s.pending
        if pending is None or now < pending.deadline or now < self._retry_at:
            return None
        log.warning("commit %d was not confirmed in time: rolling back", pending.sequence)
        try:
            return self._rollback_pending(now, AUTO_ROLLBACK_USER, "other", "not confirmed")
        except DatastoreError as exc:
            log.error("rollback of the unconfirmed commit failed (retrying in %ss): %s", ROLLBACK_RETRY_SECONDS, exc)
            self._retry_at = now + ROLLBACK_RETRY_SECONDS
            return None

    # ============================================================================ internals
    def _check_confirm_permission(self, session_id: int, persist_id: str | None, cancelling: bool = False) -> None:
        pending = self._s.pending
        if pending is None or (pending.flavor == "junos" and persist_id is None):
            return
        if pending.persist is not None:
            if persist_id is None or persist_id != pending.persist:
                raise DatastoreError(problem(
                    "persist-id does not match the pending confirmed commit", error_tag="invalid-value"))
        elif persist_id is not None:
            raise DatastoreError(problem(
                "no persistent confirmed commit is pending (persist-id given)", error_tag="invalid-value"))
        elif pending.session_id != session_id:
            what = "cancelled" if cancelling else "confirmed"
            raise DatastoreError(problem(
                f"confirmed commit is pending on session {pending.session_id} and can only be {what} there",
                error_tag="in-use"))

    def _commit_source(self, session_id: int) -> etree._Element:
        private = self._s.private.get(session_id)
        if private is None:
            return self._s.shared if self._s.shared is not None else self._s.running
        if private.base is self._s.running:
            return private.tree
        try:
            return merge3(private.base, private.tree, self._s.running)
        except DatastoreError as exc:
            raise CommitError((*exc.problems, CHECKOUT_FAILED)) from None

    def _check(self, tree: etree._Element) -> tuple[tuple[Problem, ...], Intent]:
        with collector_paused():
            found = self._schema.validate(tree)
            errors = [p for p in found if p.severity != "warning"]
            if errors:
                raise CommitError((*found, CHECKOUT_FAILED))
            return tuple(found), self._compile(tree)

    def _compile(self, tree: etree._Element) -> Intent:
        from netconf_device.config.compile import compile_intent

        try:
            with collector_paused():
                return compile_intent(tree, decode_secret=self._decode_secret, previous=self._s.intent,
                                      base_dir=self._compile_base_dir)
        except DatastoreError as exc:
            raise CommitError((*exc.problems, CHECKOUT_FAILED)) from None

    def _decode_secret(self, value: str) -> str:
        """``$9$`` decoding, remembered: a commit recompiles every secret, and most did not change. The cache
        lives as long as this datastore (its values are already in the running intent)."""
        plain = self._secret_cache.get(value)
        if plain is None:
            if len(self._secret_cache) >= SECRET_CACHE_LIMIT:
                self._secret_cache.clear()
            plain = self._secret_cache[value] = secret.decode9(value)
        return plain

    def _apply(self, old: Intent, new: Intent) -> None:
        if not self._started:
            raise RuntimeError("Datastore.start(now) must run before anything is committed")
        done: list[ApplyCallback] = []
        for callback in self._callbacks:
            try:
                callback(old, new)
            except Exception as exc:
                log.error("apply failed in %s: %s", getattr(callback, "__qualname__", callback), exc)
                for undo in reversed(done):
                    self._call_quietly(undo, new, old)
                raise CommitError((problem(f"commit failed: {exc}", error_type="application"),
                                   CHECKOUT_FAILED)) from exc
            done.append(callback)

    def _undo_apply(self, old: Intent, new: Intent) -> None:
        for callback in reversed(self._callbacks):
            self._call_quietly(callback, new, old)

    @staticmethod
    def _call_quietly(callback: ApplyCallback, old: Intent, new: Intent) -> None:
        try:
            callback(old, new)
        except Exception:  # undoing must go on with the other engines
            log.exception("undo of an apply failed")

    def _persist(self, tree: etree._Element, fields: dict, *, pending: PendingConfirm | None,
                 pending_target: etree._Element | None = None) -> CommitInfo:
        """Write the commit (and the pending confirmed commit, before HEAD moves) and publish it."""
        try:
            info = self._store.prepare(tree, fields)
            if pending is not None:
                pending = PendingConfirm(**{**pending.__dict__, "sequence": info.sequence})
                self._pending_store.save(pending, pending_target)
            self._store.publish(info.sequence)
        except OSError as exc:
            raise StateError(problem(f"could not write the configuration: {exc.strerror or exc}",
                                           error_type="application")) from exc
        self._s.running = tree
        if pending is not None:
            self._s.pending, self._s.pending_target = pending, pending_target
        else:
            self._clear_pending()
        return info

    def _clear_pending(self) -> None:
        self._retry_at = 0.0
        if self._s.pending is not None:
            self._s.pending = self._s.pending_target = None
            self._pending_store.clear()

    @staticmethod
    def _rollback_fields(now: float, user: str, client: str, why: str) -> dict:
        return {"time": now, "user": user, "client": client, "log": None,
                "comment": f"rollback of commit confirmed ({why})"}

    def _rollback_pending(self, now: float, user: str, client: str, why: str) -> CommitResult:
        target = self._s.pending_target
        old_intent = self._s.intent
        try:
            intent = self._compile(target)
        except CommitError as exc:
            # The old configuration no longer compiles (e.g. a certificate file vanished): keep running, and
            # say so loudly; waiting longer would not make it compile.
            log.error("cannot roll back the confirmed commit: %s", exc)
            self._clear_pending()
            raise
        self._apply(old_intent, intent)
        fields = self._rollback_fields(now, user, client, why)
        try:
            info = self._persist(target, fields, pending=None)
        except BaseException:
            self._undo_apply(old_intent, intent)
            raise
        self._s.intent = intent
        return CommitResult(check=False, old=old_intent, new=intent, info=info, automatic=True)
