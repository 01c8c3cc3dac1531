"""The lab state directory: ``lab.json`` records everything a later command needs to find and stop the lab.

Layout of ``<state dir>`` (default ``.lab-state/<lab>`` under the current directory):

    lab.json                 pids, ports, wires, namespaces, host endpoints (0600, rewritten atomically)
    devices/<name>/state/    the device's --state-dir (configuration, rollbacks, SSH host key)
    devices/<name>/device.log
    devices/<name>/config.*  a generated configuration (labs whose configs come from a script)
    peers/<name>/charon/     a strongSwan instance (strongswan.conf, swanctl/, charon.log)

``lab.json`` is written *before* anything is started and after every step, so ``lab down`` can clean up
after a crash at any point. Its absence means the lab is down.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

STATE_FILE = "lab.json"
FORMAT = 1


def read_state(state_dir: Path) -> dict[str, Any] | None:
    path = state_dir / STATE_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise RuntimeError(f"{path}: unreadable lab state ({exc}); remove it after checking nothing runs") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise RuntimeError(f"{path}: not a lab state file of this version")
    return data


def write_state(state_dir: Path, data: dict[str, Any]) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    data["format"] = FORMAT
    path = state_dir / STATE_FILE
    tmp = path.with_name(STATE_FILE + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # holds the lab logins
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def remove_state(state_dir: Path) -> None:
    (state_dir / STATE_FILE).unlink(missing_ok=True)


def default_state_dir(lab_name: str, cwd: Path | None = None) -> Path:
    return (cwd or Path.cwd()) / ".lab-state" / lab_name


def port_still_owned(owner: str, port: int) -> bool:
    """Registry callback: is ``port`` still recorded by the lab state in directory ``owner``?"""
    try:
        data = read_state(Path(owner))
    except RuntimeError:
        return True  # unreadable: keep the reservation rather than risk a collision
    return bool(data) and port in data.get("ports", [])
