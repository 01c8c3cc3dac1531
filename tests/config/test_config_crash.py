"""Crash safety: the running configuration is always the old or the new one, never empty or corrupt.

Two complementary tests. A deterministic one interrupts a commit at every durable write in turn (the
process "dies" there) and restarts. A real one SIGKILLs a process that commits as fast as it can, at random
points, many times, and checks the state directory after each restart.
"""

from __future__ import annotations

import copy
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest
from config_crash_worker import vpns_for
from config_testlib import REPO, T0, host_name

from netconf_device.config import persist
from netconf_device.config.datastore import Datastore
from netconf_device.config.history import MAX_ROLLBACK

WORKER = Path(__file__).with_name("config_crash_worker.py")


class Crash(BaseException):
    """Stands for the process dying: nothing after it runs (not even ``except Exception`` handlers)."""


class CrashAtWrite:
    """Kill the "process" at crash point number ``step`` (counted from 0) of the durable writes to come.

    Each ``atomic_write`` offers two crash points: before it starts, and after its temporary file is
    written and fsynced but before the rename (the temporary file stays behind, as after a real crash);
    each ``atomic_unlink`` one."""

    def __init__(self, step: int, monkeypatch):
        self.step, self.points, self.monkeypatch = step, 0, monkeypatch
        self.real_write, self.real_unlink = persist.atomic_write, persist.atomic_unlink
        monkeypatch.setattr(persist, "atomic_write", self._write)
        monkeypatch.setattr(persist, "atomic_unlink", self._unlink)

    def _point(self) -> bool:
        self.points += 1
        return self.points == self.step + 1

    def _write(self, path, data, **kwargs):
        if self._point():
            raise Crash()
        if self._point():
            with mock.patch("os.replace", side_effect=Crash()):
                self.real_write(path, data, **kwargs)
        return self.real_write(path, data, **kwargs)

    def _unlink(self, path):
        if self._point():
            raise Crash()
        return self.real_unlink(path)

    def remove(self) -> None:
        self.monkeypatch.setattr(persist, "atomic_write", self.real_write)
        self.monkeypatch.setattr(persist, "atomic_unlink", self.real_unlink)


def _verify(state_dir: Path, schema, possible: set[int], now: float) -> int:
    """Open the state as a restarted device would; return the running commit number."""
    ds = Datastore(state_dir, schema=schema)
    leftovers = [p.name for p in state_dir.rglob("*") if p.name.endswith(persist.TMP_SUFFIX)]
    assert not leftovers, leftovers  # temporary files of an interrupted write are cleaned up
    name = host_name(ds.running())
    assert name is not None and name.startswith("h"), "running configuration is empty"
    number = int(name[1:])
    assert number in possible, (number, possible)
    assert len(ds.running().findall("security/ipsec/vpn")) == vpns_for(number)
    assert not [e for e in schema.validate(ds.running()) if e.severity != "warning"]
    history = ds.commit_history()
    assert history[0].log == f"commit {number}"
    for n, info in enumerate(history):  # rollbacks: consecutive commits, each file intact
        assert info.log == f"commit {number - n}"
    for n in (1, len(history) - 1):
        if n < len(history):
            assert host_name(ds.rollback(n)) == f"h{number - n}"
    assert len(history) == min(number + 1, MAX_ROLLBACK + 1)
    pending = ds.pending_confirm  # a running confirmed commit is always still pending (never confirmed here)
    assert (pending is not None) == (number % 7 == 3)
    if pending is not None:
        assert pending.sequence == history[0].sequence
        assert host_name(ds._pending_store.load()[1]) == f"h{number - 1}"  # it would go back to the previous one
    ds.start(now)  # and the device starts from it
    ds.close()
    return number


def test_interrupted_at_every_write_keeps_old_or_new(tmp_path, schema, monkeypatch):
    from netconf_device.config.generate import vpn_config

    state = tmp_path / "state"
    parsed = {n: schema.parse(vpn_config(n), "set") for n in {vpns_for(i) for i in range(8)}}

    def commit_number(i: int) -> None:
        with Datastore(state, schema=schema) as ds:
            ds.start(T0)
            ds.open_session(1, "crash", now=T0)
            tree = copy.deepcopy(parsed[vpns_for(i)])
            tree.find("system/host-name").text = f"h{i}"
            ds.set_candidate(1, tree, T0)
            ds.commit(1, T0, log=f"commit {i}", confirm_timeout=3600 if i % 7 == 3 else None)

    commit_number(0)
    writes_seen = 0
    for i in range(1, 8):
        step = 0
        while True:  # crash at durable write number `step` of commit i, until commit i completes untouched
            injector = CrashAtWrite(step, monkeypatch)
            try:
                commit_number(i)
                crashed = False
            except Crash:
                crashed = True
            injector.remove()
            number = _verify(state, schema, {i - 1, i}, T0)
            if not crashed:
                assert number == i
                break
            writes_seen += 1
            step += 1
            if number == i:  # the crash came after the commit point: done with this commit
                break
    assert writes_seen >= 28  # every commit has at least two durable writes (commit file, HEAD), two points each


@pytest.mark.slow
def test_sigkill_during_commits_never_loses_or_corrupts(tmp_path, schema):
    state = tmp_path / "state"
    rng = random.Random(20261127)
    committed = -1
    rounds = 16
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # this checkout's package, not an installed one
    for _ in range(rounds):
        proc = subprocess.Popen([sys.executable, str(WORKER), str(state)], cwd=REPO, text=True, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
            time.sleep(rng.uniform(0.02, 1.2))
            proc.send_signal(signal.SIGKILL)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == -signal.SIGKILL, err
        done = [int(line.split()[1]) for line in out.splitlines() if line.startswith("committed ")]
        last = done[-1] if done else committed
        # the commit in flight when the process died may or may not have reached its commit point
        committed = _verify(state, schema, {last, last + 1}, time.time())
    assert committed >= rounds  # the kills did not stop progress
