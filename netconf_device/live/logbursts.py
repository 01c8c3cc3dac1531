"""Concise device logs at scale: bursts of the same log message are summarised, not written one by one.

A device bringing up 2000 tunnels logs "initiating IKE SA ...", "IKE SA ... established" and "child SA ...
installed" once per tunnel: 6000-8000 lines within seconds, which cost about a second of CPU and bury what
matters. :class:`BurstSummary` is a handler filter: per message *template* (the format string before its
arguments, so "IKE SA #%d ... established" is one kind whatever the SA) it lets the first ``burst`` records of a
``window`` through, counts the rest, and when the window has passed writes one line saying how many were left
out. Errors always pass; at ``--log-level debug`` the device installs no summary, so every record is written.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

#: Records of one template let through per window.
BURST = 10
#: Seconds of a window.
WINDOW = 10.0
#: Templates tracked at once; beyond that, records of new templates pass unsummarised (bounded memory even
#: when a caller logs preformatted strings, where every message is its own "template").
MAX_TEMPLATES = 512


@dataclass
class _Window:
    started: float
    passed: int = 0
    suppressed: int = 0
    last_suppressed: float = 0.0
    sample: logging.LogRecord | None = None  # the last record let through: level, logger and place of the summary


class BurstSummary(logging.Filter):
    """Lets ``burst`` records per message template and ``window`` through; summarises the rest."""

    def __init__(self, emit: Callable[[logging.LogRecord], None], *, burst: int = BURST, window: float = WINDOW,
                 max_level: int = logging.WARNING, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._emit = emit
        self._burst = burst
        self._window = window
        self._max_level = max_level  # records above it (ERROR, CRITICAL) always pass
        self._clock = clock
        self._windows: dict[tuple[str, int, object], _Window] = {}
        self.suppressed_total = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > self._max_level or getattr(record, "burst_summary", False):
            return True
        key = (record.name, record.levelno, record.msg)
        now = self._clock()
        window = self._windows.get(key)
        if window is not None and now - window.started >= self._window:
            self._close(key, window)
            window = None
        if window is None:
            if len(self._windows) >= MAX_TEMPLATES:
                self.flush()
                if len(self._windows) >= MAX_TEMPLATES:
                    return True
            window = self._windows[key] = _Window(started=now)
        if window.passed < self._burst:
            window.passed += 1
            window.sample = record
            return True
        window.suppressed += 1
        window.last_suppressed = now
        self.suppressed_total += 1
        return False

    def flush(self, *, force: bool = False) -> None:
        """Write the summary of every window that has passed (all of them with ``force``, e.g. at exit)."""
        now = self._clock()
        for key, window in list(self._windows.items()):
            if force or now - window.started >= self._window:
                self._close(key, window)

    def _close(self, key: tuple[str, int, object], window: _Window) -> None:
        del self._windows[key]
        if not window.suppressed or window.sample is None:
            return
        sample = window.sample
        summary = logging.LogRecord(
            sample.name, sample.levelno, sample.pathname, sample.lineno,
            "%d more like \"%s\" within %.1f s (not written one by one; --log-level debug writes every one)",
            (window.suppressed, _template_text(sample.msg), window.last_suppressed - window.started), None)
        summary.burst_summary = True
        self._emit(summary)


def _template_text(msg: object) -> str:
    return str(msg).replace("\n", " ")[:200]


def install(handlers: list[logging.Handler], level: int) -> BurstSummary | None:
    """Put a :class:`BurstSummary` first on each handler when ``level`` is above DEBUG; return it."""
    if level <= logging.DEBUG or not handlers:
        return None

    def emit(record: logging.LogRecord) -> None:
        for handler in handlers:
            if record.levelno >= handler.level:
                handler.handle(record)

    summary = BurstSummary(emit)
    for handler in handlers:
        handler.filters.insert(0, summary)
    return summary
