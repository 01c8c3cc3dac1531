"""Datastore: candidate/running/rollbacks, metadata, compare, rescue, locks, private candidates, commit check,
confirmed commits (Junos and RFC 6241 flavours, across restarts), apply callbacks. Real schema throughout."""

from __future__ import annotations

import stat

import pytest
from config_testlib import T0, host_name
from lxml import etree

from netconf_device.config.datastore import ROLLBACK_RETRY_SECONDS, Datastore
from netconf_device.config.errors import CommitError, ConfigLoadError, DatastoreError, LockError, StateError
from netconf_device.config.history import MAX_ROLLBACK
from netconf_device.config.intent import Intent


def set_host(ds: Datastore, sid: int, name: str, now: float = T0) -> None:
    ds.load(sid, f"set system host-name {name}\n", format="set", action="set", now=now)


def commit_host(ds: Datastore, sid: int, name: str, now: float = T0, **kwargs):
    set_host(ds, sid, name, now)
    return ds.commit(sid, now, **kwargs)


@pytest.fixture
def ds_session(make_datastore):
    ds, recorder = make_datastore()
    ds.open_session(1, "lab", client="netconf", now=T0)
    return ds, recorder


# ------------------------------------------------------------------------------------------ commits
def test_commit_makes_candidate_running_with_metadata(ds_session, seed_set):
    ds, recorder = ds_session
    ds.load(1, seed_set[1], format="set", action="set", now=T0)
    assert ds.is_modified(1)
    result = ds.commit(1, T0 + 5, log="seed example")
    assert host_name(ds.running()) == "peer1"
    assert not ds.is_modified(1)
    assert result.info.user == "lab" and result.info.client == "netconf" and result.info.log == "seed example"
    assert result.info.time == T0 + 5
    assert "ipsec_vpn" in result.new.ipsec_vpns and result.diff().ipsec_vpns.added == ("ipsec_vpn",)
    # the engines saw the change: start() (empty -> empty) then this commit
    assert recorder.calls[-1] == (result.old, result.new)
    xml = etree.tostring(result.to_xml()).decode()
    assert "<commit-success/>" in xml and "<name>re0</name>" in xml


def test_rollbacks_keep_49_and_history_metadata(ds_session):
    ds, _ = ds_session
    for i in range(MAX_ROLLBACK + 3):
        commit_host(ds, 1, f"h{i}", now=T0 + i, log=f"change {i}")
    history = ds.commit_history()
    assert len(history) == MAX_ROLLBACK + 1
    last = MAX_ROLLBACK + 2
    for number, info in enumerate(history):
        assert info.log == f"change {last - number}"
        assert info.time == T0 + last - number
    assert host_name(ds.rollback(0)) == f"h{last}"
    assert host_name(ds.rollback(MAX_ROLLBACK)) == f"h{last - MAX_ROLLBACK}"
    with pytest.raises(DatastoreError, match="rollback 50 does not exist"):
        ds.rollback(MAX_ROLLBACK + 1)
    # only 50 commit files remain on disk
    assert len(list((ds.state_dir / "commits").iterdir())) == MAX_ROLLBACK + 1
    info = ds.commit_information_xml()
    assert [e.findtext("sequence-number") for e in info][:2] == ["0", "1"]
    assert info[0].findtext("log") == f"change {last}" and info[0].findtext("client") == "netconf"


def test_state_survives_restart(make_datastore):
    ds, _ = make_datastore()
    ds.open_session(1, "lab", now=T0)
    commit_host(ds, 1, "first", log="one")
    commit_host(ds, 1, "second", log="two")
    ds2, recorder = make_datastore(now=T0 + 10)
    assert host_name(ds2.running()) == "second" and host_name(ds2.rollback(1)) == "first"
    assert [i.log for i in ds2.commit_history()] == ["two", "one"]
    # start() brought the engines from nothing to the running configuration
    assert recorder.calls[0][0] == Intent() and recorder.calls[0][1].system.host_name == "second"


def test_state_files_are_private(ds_session, seed_set):
    ds, _ = ds_session
    ds.load(1, seed_set[1], format="set", action="set", now=T0)
    ds.commit(1, T0)
    for path in (ds.state_dir / "commits").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert b"lab-secret-123" not in path.read_bytes()  # the PSK is stored $9$-encoded


def test_compare_is_empty_without_change_and_rollback_compare(ds_session):
    ds, _ = ds_session
    commit_host(ds, 1, "alpha")
    commit_host(ds, 1, "beta")
    assert ds.compare(1) == ""
    set_host(ds, 1, "gamma")
    diff = ds.compare(1)
    lines = diff.splitlines()
    assert lines[0] == "[edit system]"
    assert any(line.startswith("-") and line.endswith("host-name beta;") for line in lines)
    assert any(line.startswith("+") and line.endswith("host-name gamma;") for line in lines)
    assert "host-name alpha;" in ds.compare(1, rollback=1)
    ds.discard_changes(1, T0)
    assert ds.compare(1) == ""


def test_load_rollback_and_rescue(ds_session):
    ds, _ = ds_session
    commit_host(ds, 1, "alpha")
    ds.save_rescue(T0)
    commit_host(ds, 1, "beta")
    ds.load_rollback(1, 1, T0)
    assert host_name(ds.candidate(1)) == "alpha" and ds.compare(1, rollback=1) == ""
    ds.commit(1, T0)
    assert host_name(ds.running()) == "alpha" and len(ds.commit_history()) == 3
    commit_host(ds, 1, "gamma")
    ds.load_rescue(1, T0)
    assert host_name(ds.candidate(1)) == "alpha"
    assert ds.delete_rescue()
    with pytest.raises(DatastoreError, match="Rescue configuration is not set"):
        ds.load_rescue(1, T0)


def test_load_error_leaves_candidate_unchanged(ds_session):
    ds, _ = ds_session
    set_host(ds, 1, "kept")
    with pytest.raises(ConfigLoadError) as err:
        ds.load(1, "set system host-name other\nset system bogus-statement 1\n", format="set", action="set", now=T0)
    assert err.value.errors and host_name(ds.candidate(1)) == "kept"


# ------------------------------------------------------------------------------------------ failures
def test_invalid_commit_reports_all_errors_and_changes_nothing(ds_session, seed_set):
    ds, recorder = ds_session
    commit_host(ds, 1, "before")
    calls = len(recorder.calls)
    broken = seed_set[1].replace("set security ike policy ike_policy mode main\n", "") \
        .replace("ike-policy ike_policy", "ike-policy missing_policy") \
        .replace("set security ipsec vpn ipsec_vpn ike gateway ike_gw", "set security ipsec vpn ipsec_vpn ike gateway nowhere")
    ds.load(1, broken, format="set", action="set", now=T0)
    with pytest.raises(CommitError) as err:
        ds.commit(1, T0)
    messages = [p.message for p in err.value.problems]
    assert "Referenced IKE policy must be defined under [edit security ike policy]" in messages
    assert "Referenced IKE gateway must be defined under [edit security ike gateway]" in messages
    assert messages[-1] == "configuration check-out failed"
    assert host_name(ds.running()) == "before" and len(ds.commit_history()) == 1
    assert len(recorder.calls) == calls  # the engines never saw it
    with pytest.raises(CommitError):
        ds.commit_check(1, T0)


def test_apply_veto_undoes_engines_and_commits_nothing(make_datastore, seed_set):
    ds, first = make_datastore()
    second_calls = []

    def failing(old, new):
        second_calls.append((old, new))
        raise RuntimeError("PFE out of tunnel slots")

    ds.add_apply_callback(failing)
    ds.open_session(1, "lab", now=T0)
    ds.load(1, seed_set[1], format="set", action="set", now=T0)
    with pytest.raises(CommitError, match="PFE out of tunnel slots"):
        ds.commit(1, T0)
    old, new = first.calls[-2]
    assert new.ipsec_vpns and not old.ipsec_vpns
    assert first.calls[-1] == (new, old)  # the first engine was told to undo
    assert not ds.commit_history() and not ds.running_intent.ipsec_vpns


def test_commit_check_does_not_commit(ds_session):
    ds, recorder = ds_session
    set_host(ds, 1, "checked")
    result = ds.commit_check(1, T0)
    assert result.check and result.new.system.host_name == "checked"
    assert host_name(ds.running()) is None and not ds.commit_history() and len(recorder.calls) == 1
    assert "<commit-check-success/>" in etree.tostring(result.to_xml()).decode()


# ------------------------------------------------------------------------------------------ locks
def test_lock_denied_with_holder_and_edits_refused(make_datastore):
    ds, _ = make_datastore()
    ds.open_session(11, "alice", now=T0)
    ds.open_session(22, "bob", now=T0)
    ds.lock(11, T0 + 1)
    with pytest.raises(LockError) as err:
        ds.lock(22, T0 + 61)
    assert err.value.holder.session_id == 11 and err.value.holder.user == "alice"
    text = err.value.problems[0].message
    assert text.startswith("configuration database locked by:\n  alice terminal ")
    assert "(pid 11)" in text and "idle 00:01:00" in text and text.endswith("exclusive")
    assert err.value.problems[0].error_tag == "lock-denied"
    with pytest.raises(LockError):
        set_host(ds, 22, "bob-was-here")
    with pytest.raises(LockError):
        ds.commit(22, T0)
    with pytest.raises(LockError):
        ds.unlock(22, T0)
    set_host(ds, 11, "alice-change")
    ds.unlock(11, T0)  # unlocking discards uncommitted changes, like Junos
    assert not ds.is_modified(11) and host_name(ds.candidate(22)) is None
    with pytest.raises(LockError, match="Configuration database is not open"):
        ds.unlock(11, T0)


def test_lock_refused_when_others_modified_candidate(make_datastore):
    ds, _ = make_datastore()
    ds.open_session(1, "alice", now=T0)
    ds.open_session(2, "bob", now=T0)
    set_host(ds, 1, "unlocked-edit")
    with pytest.raises(LockError, match="configuration database modified"):
        ds.lock(2, T0)
    ds.lock(1, T0)  # its own changes do not stop the editor from locking
    ds.unlock(1, T0)


def test_closing_session_releases_lock_and_discards(make_datastore):
    ds, _ = make_datastore()
    ds.open_session(1, "alice", now=T0)
    ds.open_session(2, "bob", now=T0)
    ds.lock(1, T0)
    set_host(ds, 1, "abandoned")
    ds.close_session(1, T0)
    assert ds.lock_holder() is None and not ds.is_modified(2)
    ds.lock(2, T0)


# ------------------------------------------------------------------------------------------ private
def test_private_candidates_merge_at_commit(make_datastore):
    ds, _ = make_datastore()
    ds.open_session(1, "alice", now=T0)
    ds.open_session(2, "bob", now=T0)
    commit_host(ds, 1, "base")
    warnings = ds.open_private(2, T0)
    assert [w.message for w in warnings] == ["uncommitted changes will be discarded on exit"]
    ds.load(2, "set system domain-name example.net\n", format="set", action="set", now=T0)
    assert ds.candidate(1).findtext("system/domain-name") is None  # private: invisible to others
    commit_host(ds, 1, "changed-meanwhile")
    ds.commit(2, T0 + 1)
    running = ds.running()
    assert host_name(running) == "changed-meanwhile" and running.findtext("system/domain-name") == "example.net"
    assert not ds.is_modified(2)


def test_private_conflict_is_refused(make_datastore):
    ds, _ = make_datastore()
    ds.open_session(1, "alice", now=T0)
    ds.open_session(2, "bob", now=T0)
    commit_host(ds, 1, "base")
    ds.open_private(2, T0)
    set_host(ds, 2, "bobs-name")
    commit_host(ds, 1, "alices-name")
    with pytest.raises(CommitError) as err:
        ds.commit(2, T0)
    assert err.value.problems[0].error_path == "[edit system]"
    assert host_name(ds.running()) == "alices-name"
    ds.close_private(2, T0)
    with pytest.raises(DatastoreError, match="not open"):
        ds.close_private(2, T0)


def test_private_refused_when_shared_candidate_modified(make_datastore):
    ds, _ = make_datastore()
    ds.open_session(1, "alice", now=T0)
    ds.open_session(2, "bob", now=T0)
    set_host(ds, 1, "shared-edit")
    with pytest.raises(DatastoreError, match="shared configuration database modified"):
        ds.open_private(2, T0)


# ------------------------------------------------------------------------------------------ confirmed
def test_junos_confirmed_commit_rolls_back_when_not_confirmed(ds_session):
    ds, recorder = ds_session
    commit_host(ds, 1, "stable")
    result = commit_host(ds, 1, "risky", now=T0 + 10, confirm_timeout=120)
    assert result.confirm_deadline == T0 + 130 and ds.next_deadline() == T0 + 130
    assert ds.commit_history()[0].comment == "commit confirmed, rollback in 2mins"
    assert ds.on_timer(T0 + 129) is None and host_name(ds.running()) == "risky"
    rolled = ds.on_timer(T0 + 130)
    assert rolled.automatic and rolled.new.system.host_name == "stable"
    assert recorder.calls[-1] == (rolled.old, rolled.new)
    assert host_name(ds.running()) == "stable" and ds.next_deadline() is None
    latest = ds.commit_history()[0]
    assert latest.client == "other" and "rollback" in latest.comment
    assert [host_name(ds.rollback(n)) for n in range(3)] == ["stable", "risky", "stable"]


def test_junos_confirmed_commit_confirmed_by_commit_or_check(make_datastore):
    ds, _ = make_datastore()
    ds.open_session(1, "alice", now=T0)
    ds.open_session(2, "bob", now=T0)
    commit_host(ds, 1, "risky", confirm_timeout=60)
    ds.commit(2, T0 + 1)  # any later commit confirms (Junos)
    assert ds.next_deadline() is None and ds.on_timer(T0 + 3600) is None
    commit_host(ds, 1, "risky2", confirm_timeout=60)
    ds.commit_check(2, T0)  # so does a commit check
    assert ds.next_deadline() is None and host_name(ds.running()) == "risky2"


def test_confirmed_commit_extension_returns_to_state_before_first(ds_session):
    ds, _ = ds_session
    commit_host(ds, 1, "original")
    commit_host(ds, 1, "try1", now=T0, confirm_timeout=60)
    commit_host(ds, 1, "try2", now=T0 + 30, confirm_timeout=60)  # extends the series
    assert ds.next_deadline() == T0 + 90
    ds.on_timer(T0 + 90)
    assert host_name(ds.running()) == "original"


def test_ietf_confirmed_commit_needs_same_session_or_persist_id(make_datastore):
    ds, _ = make_datastore()
    ds.open_session(1, "alice", now=T0)
    ds.open_session(2, "bob", now=T0)
    commit_host(ds, 1, "stable")
    commit_host(ds, 1, "risky", confirm_timeout=600, flavor="ietf")
    with pytest.raises(DatastoreError, match="pending on session 1"):
        ds.commit(2, T0, flavor="ietf")
    with pytest.raises(DatastoreError, match="pending on session 1"):
        ds.cancel_commit(2, T0)
    ds.commit(1, T0, flavor="ietf")  # the issuing session confirms
    assert ds.next_deadline() is None

    commit_host(ds, 1, "persistent", confirm_timeout=600, flavor="ietf", persist="tok-1")
    with pytest.raises(DatastoreError, match="persist-id"):
        ds.commit(2, T0, flavor="ietf", persist_id="wrong")
    ds.close_session(1, T0)  # a persistent confirmed commit outlives its session
    assert host_name(ds.running()) == "persistent" and ds.next_deadline() == T0 + 600
    rolled = ds.cancel_commit(2, T0 + 1, persist_id="tok-1")
    assert rolled.automatic and host_name(ds.running()) == "risky"


def test_ietf_confirmed_commit_cancelled_when_session_ends(make_datastore):
    ds, _ = make_datastore()
    ds.open_session(1, "alice", now=T0)
    commit_host(ds, 1, "stable")
    commit_host(ds, 1, "risky", confirm_timeout=600, flavor="ietf")
    result = ds.close_session(1, T0 + 5)
    assert result is not None and result.automatic and host_name(ds.running()) == "stable"


def test_confirmed_commit_expired_while_down_is_rolled_back_on_start(make_datastore):
    ds, _ = make_datastore()
    ds.open_session(1, "lab", now=T0)
    commit_host(ds, 1, "stable")
    commit_host(ds, 1, "risky", confirm_timeout=60)
    del ds  # the device stops before the deadline ...
    ds2, recorder = make_datastore(now=T0 + 600)  # ... and starts after it
    assert host_name(ds2.running()) == "stable" and ds2.next_deadline() is None
    assert len(recorder.calls) == 1 and recorder.calls[0][1].system.host_name == "stable"  # never saw "risky"
    assert ds2.commit_history()[0].client == "other"


def test_confirmed_commit_pending_across_restart_before_deadline(make_datastore):
    ds, _ = make_datastore()
    ds.open_session(1, "lab", now=T0)
    commit_host(ds, 1, "stable")
    commit_host(ds, 1, "risky", confirm_timeout=60)
    ds2, recorder = make_datastore(now=T0 + 30)
    assert host_name(ds2.running()) == "risky" and ds2.next_deadline() == T0 + 60
    ds2.on_timer(T0 + 60)
    assert host_name(ds2.running()) == "stable"
    ds3, _ = make_datastore(now=T0 + 61)
    assert ds3.next_deadline() is None and host_name(ds3.running()) == "stable"


def test_confirmed_then_confirmed_survives_restart_without_rollback(make_datastore):
    ds, _ = make_datastore()
    ds.open_session(1, "lab", now=T0)
    commit_host(ds, 1, "stable")
    commit_host(ds, 1, "risky", confirm_timeout=60)
    ds.commit(1, T0 + 10)  # confirmed
    ds2, _ = make_datastore(now=T0 + 600)
    assert host_name(ds2.running()) == "risky" and ds2.next_deadline() is None


def test_vetoed_automatic_rollback_is_retried_later(ds_session):
    ds, recorder = ds_session
    commit_host(ds, 1, "stable")
    commit_host(ds, 1, "risky", confirm_timeout=60)
    recorder.fail_with = RuntimeError("IKE daemon busy")
    assert ds.on_timer(T0 + 60) is None and host_name(ds.running()) == "risky"
    assert ds.next_deadline() == T0 + 60 + ROLLBACK_RETRY_SECONDS  # no busy loop in the event loop
    recorder.fail_with = None
    assert ds.on_timer(T0 + 61) is None
    assert ds.on_timer(T0 + 65).automatic and host_name(ds.running()) == "stable"


def test_state_directory_is_locked_against_a_second_device(make_datastore, schema):
    ds, _ = make_datastore()
    with pytest.raises(StateError, match="in use by another running device"):
        Datastore(ds.state_dir, schema=schema)
    ds.close()
    with Datastore(ds.state_dir, schema=schema):
        pass


def test_private_commit_merges_list_entries_into_moved_on_running(make_datastore, seed_set):
    ds, recorder = make_datastore()
    ds.open_session(1, "alice", now=T0)
    ds.open_session(2, "bob", now=T0)
    ds.load(1, seed_set[1], format="set", action="set", now=T0)
    ds.commit(1, T0)
    ds.open_private(2, T0)
    ds.load(2, "\n".join([
        "set interfaces st0 unit 2 family inet",
        "set security ipsec vpn vpn2 bind-interface st0.2",
        "set security ipsec vpn vpn2 ike gateway ike_gw",
        "set security ipsec vpn vpn2 ike ipsec-policy ipsec_policy",
    ]) + "\n", format="set", action="set", now=T0)
    ds.load(1, "set interfaces et-0/1/9 unit 0 family inet address 3.3.3.1/24\n"
               "delete routing-options static route 2.2.2.0/24\n", format="set", action="set", now=T0)
    ds.commit(1, T0 + 1)
    result = ds.commit(2, T0 + 2)
    assert set(result.new.ipsec_vpns) == {"ipsec_vpn", "vpn2"}
    assert result.new.ipsec_vpns["vpn2"].tunnel_index == 500002
    assert "et-0/1/9" in result.new.interfaces and result.new.static_routes == ()  # alice's commit kept
    assert result.diff().ipsec_vpns.added == ("vpn2",) and recorder.calls[-1] == (result.old, result.new)
