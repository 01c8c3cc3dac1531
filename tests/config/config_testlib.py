"""Helpers shared by the configuration-engine tests (imported by name: pytest puts this directory on the path)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "labs" / "mx304-p2p"
T0 = 1_790_000_000.0  # a fixed "now" for sans-IO tests


class ApplyRecorder:
    """An apply callback that records what the engines would see (and can veto on demand)."""

    def __init__(self):
        self.calls = []
        self.fail_with: Exception | None = None

    def __call__(self, old, new):
        self.calls.append((old, new))
        if self.fail_with is not None:
            raise self.fail_with


def host_name(tree) -> str | None:
    return tree.findtext("system/host-name")
