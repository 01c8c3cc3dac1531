"""Crash-safe files: write to a temporary file, fsync it, rename it over the target, fsync the directory.

After a crash at any point a reader sees either the old file or the complete new one, never a mix, an empty
file or a torn write (POSIX ``rename`` is atomic; the two ``fsync`` calls make the data and the rename durable
before the caller goes on).
"""

from __future__ import annotations

import os
from pathlib import Path

TMP_SUFFIX = ".tmp"


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` atomically and durably (files are private: they hold $9$ secrets)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}{TMP_SUFFIX}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def atomic_unlink(path: Path) -> None:
    """Remove ``path`` (if present) and make the removal durable."""
    try:
        path.unlink()
    except FileNotFoundError:
        return
    fsync_dir(path.parent)


def remove_temporaries(directory: Path) -> None:
    """Delete temporary files a crash left behind (they were never renamed into place)."""
    for entry in directory.iterdir():
        if entry.name.startswith(".") and entry.name.endswith(TMP_SUFFIX):
            entry.unlink(missing_ok=True)
