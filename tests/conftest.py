"""Shared test fixtures and skip rules.

Tests that need root (network namespaces, TUN) or a real strongSwan run in CI, which is root and installs
strongSwan; elsewhere they skip with the reason.
"""

from __future__ import annotations

import os
import shutil

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _missing_root() -> str | None:
    return None if os.geteuid() == 0 else "needs root (network namespaces / TUN); runs in CI"


def _missing_strongswan() -> str | None:
    for tool in ("swanctl", "charon-systemd"):
        if not shutil.which(tool):
            return f"needs strongSwan ({tool} not found; CI installs it)"
    return None


def pytest_collection_modifyitems(config, items):
    checks = {"root": _missing_root, "strongswan": _missing_strongswan}
    for item in items:
        for marker, check in checks.items():
            if item.get_closest_marker(marker):
                reason = check()
                if reason:
                    item.add_marker(pytest.mark.skip(reason=reason))
