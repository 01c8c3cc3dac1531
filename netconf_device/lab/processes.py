"""Device processes of a lab: start detached, wait until NETCONF listens, find and stop them again.

A lab runs one ``python -m netconf_device serve`` process per device (DESIGN principle 7). They are started
in their own session, so ``lab up`` can return (and Ctrl-C in its terminal does not reach them), with
stdout and stderr in the device's log file. Another process (``lab down``, ``lab status``) recognises them
by pid *and* command line, so a pid the kernel recycled for something else is never signalled.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import netconf_device

_LISTENING = re.compile(r"listening on (\S+):(\d+) \(NETCONF over SSH\)")
#: Where the running ``netconf_device`` package lives: device processes import the same code.
_CODE_ROOT = str(Path(netconf_device.__file__).resolve().parent.parent)


class DeviceStartError(RuntimeError):
    """A device process exited or did not become ready; the message carries its log's tail."""


@dataclass
class Started:
    pid: int
    proc: subprocess.Popen | None  # set in the process that started it (to reap it)


def device_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = _CODE_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_process(argv: list[str], log_path: Path, *, cwd: Path | None = None) -> Started:
    """Start ``argv`` detached (new session, stdin closed) with output appended to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env=device_env(), cwd=str(cwd) if cwd else None, start_new_session=True,
                                close_fds=True)
    return Started(proc.pid, proc)


def serve_argv(*, port: int, listen: str, state_dir: Path, hostname: str, model: str, user: str, password: str,
               config: Path | None, wires: dict[str, str], log_level: str = "info") -> list[str]:
    argv = [sys.executable, "-m", "netconf_device", "serve", "--port", str(port), "--listen", listen,
            "--state-dir", str(state_dir), "--hostname", hostname, "--model", model,
            "--user", f"{user}:{password}", "--log-level", log_level]
    if config is not None:
        argv += ["--config", str(config)]
    for ifd, spec in wires.items():
        argv += ["--wire", f"{ifd}={spec}"]
    return argv


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    tail = text.splitlines()[-lines:]
    return "\n".join("    " + line for line in tail) or "    (log is empty)"


def listening_port(log_path: Path, offset: int = 0) -> int | None:
    """The NETCONF port a device announced in its log (after byte ``offset``), or None yet."""
    try:
        with open(log_path, "rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
    except OSError:
        return None
    match = _LISTENING.search(text)
    return int(match.group(2)) if match else None


def wait_listening(name: str, started: Started, log_path: Path, *, offset: int, timeout: float) -> int:
    """Wait until the device prints its listening line; return its NETCONF port."""
    deadline = time.monotonic() + timeout
    while True:
        port = listening_port(log_path, offset)
        if port is not None:
            return port
        if not process_alive(started.pid, started.proc):
            code = started.proc.returncode if started.proc is not None else "?"
            raise DeviceStartError(f"device {name} exited during startup (status {code}); "
                                   f"last lines of {log_path}:\n{log_tail(log_path)}")
        if time.monotonic() > deadline:
            raise DeviceStartError(f"device {name} did not start listening within {timeout:.0f} s; "
                                   f"last lines of {log_path}:\n{log_tail(log_path)}")
        time.sleep(0.05)


def process_alive(pid: int | None, proc: subprocess.Popen | None = None) -> bool:
    """True while ``pid`` runs (not a zombie). Reaps our own child when it has exited."""
    if not pid:
        return False
    if proc is not None:
        return proc.poll() is None
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def is_our_process(pid: int | None, marker: str) -> bool:
    """True if ``pid`` is alive and its command line contains ``marker`` (e.g. the device's state dir)."""
    if not process_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return marker.encode() in cmdline


def stop_process(pid: int | None, marker: str, *, proc: subprocess.Popen | None = None,
                 timeout: float = 5.0, sig: int = signal.SIGTERM) -> bool:
    """Signal the process if it is ours, wait up to ``timeout``, then SIGKILL. True if one was stopped."""
    if proc is not None:
        if proc.poll() is not None:
            return False
    elif not is_our_process(pid, marker):
        return False
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process_alive(pid, proc):
            return True
        time.sleep(0.02)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + 5
    while process_alive(pid, proc) and time.monotonic() < deadline:
        time.sleep(0.02)
    return True
