"""Crash safety: the running configuration is always the old or the new one, never empty or corrupt.

Two complementary tests. A deterministic one interrupts a commit at every durable write in turn (the
process "dies" there) and restarts. A real one SIGKILLs a process that commits as fast as it can, at random
points, many times, and checks the state directory after each restart.
"""

from __future__ import annotations

import copy
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

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
    """Make the ``step``-th durable write (or unlink) from now on kill the "process"."""

    def __init__(self, step: int, monkeypatch):
        self.step, self.calls, self.monkeypatch = step, 0, monkeypatch
        self.real = {name: getattr(persist, name) for name in ("atomic_write", "atomic_unlink")}
        for name, real in self.real.items():
            monkeypatch.setattr(persist, name, self._wrap(real))

    def _wrap(self, real):
        def wrapper(*args, **kwargs):
            self.calls += 1
            if self.calls == self.step + 1:
                raise Crash()
            return real(*args, **kwargs)

        return wrapper

    def remove(self) -> None:
        for name, real in self.real.items():
            self.monkeypatch.setattr(persist, name, real)


def _verify(state_dir: Path, schema, possible: set[int], now: float) -> int:
    """Open the state as a restarted device would; return the running commit number."""
    ds = Datastore(state_dir, schema=schema)
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
    pending = ds.pending_confirm
    if pending is not None:
        assert pending.sequence == history[0].sequence and (number % 7) == 3
    ds.start(now)  # and the device starts from it
    return number


def test_interrupted_at_every_write_keeps_old_or_new(tmp_path, schema, monkeypatch):
    from netconf_device.config.generate import vpn_config

    state = tmp_path / "state"
    parsed = {n: schema.parse(vpn_config(n), "set") for n in {vpns_for(i) for i in range(8)}}

    def commit_number(i: int) -> None:
        ds = Datastore(state, schema=schema)
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
    assert writes_seen >= 14  # every commit has at least two durable writes (commit file, HEAD)


@pytest.mark.slow
def test_sigkill_during_commits_never_loses_or_corrupts(tmp_path, schema):
    state = tmp_path / "state"
    rng = random.Random(20261127)
    committed = -1
    rounds = 16
    for _ in range(rounds):
        proc = subprocess.Popen([sys.executable, str(WORKER), str(state)], cwd=REPO, text=True,
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
