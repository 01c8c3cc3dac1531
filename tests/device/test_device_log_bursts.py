"""Concise logs at scale (netconf_device.live.logbursts): bursts of one message template are summarised in one
line per window, errors always pass, other templates are independent, memory stays bounded; and `serve` at the
default level writes a handful of lines, not one per tunnel, while a scale lab comes up."""

from __future__ import annotations

import logging
import re

import pytest

from netconf_device.live import logbursts


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _logger(name: str, handler: logging.Handler) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.getMessage()}")


def test_device_log_bursts_are_summarised_per_template_and_window():
    clock = Clock()
    capture = Capture()
    summary = logbursts.BurstSummary(capture.handle, burst=3, window=10.0, clock=clock)
    capture.addFilter(summary)
    log = _logger("ndrv6.test.bursts", capture)

    for i in range(50):
        log.info("IKE SA #%d established", i)
        clock.now += 0.01
    for i in range(5):
        log.info("child SA %08x installed", i)
    log.error("IKE SA #%d: something broke", 7)  # errors are never summarised
    log.error("IKE SA #%d: something broke", 8)
    log.error("IKE SA #%d: something broke", 9)
    log.error("IKE SA #%d: something broke", 10)
    log.debug("not written: below the handler's level")
    assert capture.lines == (
        [f"INFO IKE SA #{i} established" for i in range(3)]
        + [f"INFO child SA {i:08x} installed" for i in range(3)]
        + [f"ERROR IKE SA #{i}: something broke" for i in (7, 8, 9, 10)])
    assert summary.suppressed_total == 47 + 2

    summary.flush()  # the window has not passed: nothing yet
    assert len(capture.lines) == 10
    clock.now += 10.0
    summary.flush()
    assert capture.lines[10:] == [
        'INFO 47 more like "IKE SA #%d established" within 0.5 s (not written one by one; '
        "--log-level debug writes every one)",
        'INFO 2 more like "child SA %08x installed" within 0.0 s (not written one by one; '
        "--log-level debug writes every one)"]
    # a new window lets a new burst through
    log.info("IKE SA #%d established", 99)
    assert capture.lines[-1] == "INFO IKE SA #99 established"
    # a window without suppressed records closes silently
    clock.now += 20.0
    summary.flush(force=True)
    assert capture.lines[-1] == "INFO IKE SA #99 established"


def test_device_log_bursts_close_a_window_on_the_next_record_and_stay_bounded(monkeypatch):
    clock = Clock()
    capture = Capture()
    summary = logbursts.BurstSummary(capture.handle, burst=1, window=5.0, clock=clock)
    capture.addFilter(summary)
    log = _logger("ndrv6.test.bounded", capture)
    log.warning("peer %s is dead", "a")
    log.warning("peer %s is dead", "b")
    clock.now += 6.0
    log.warning("peer %s is dead", "c")  # the old window's summary comes first, then the new record
    assert capture.lines == ["WARNING peer a is dead",
                             'WARNING 1 more like "peer %s is dead" within 0.0 s (not written one by one; '
                             "--log-level debug writes every one)",
                             "WARNING peer c is dead"]

    monkeypatch.setattr(logbursts, "MAX_TEMPLATES", 8)
    capture.lines.clear()
    for i in range(40):  # preformatted messages: every one its own template; none lost, table bounded
        log.info(f"preformatted line {i}")
    assert len(capture.lines) == 40 and len(summary._windows) <= 8


def test_device_log_bursts_are_not_installed_at_debug():
    handler = Capture()
    assert logbursts.install([handler], logging.DEBUG) is None and handler.filters == []
    installed = logbursts.install([handler], logging.INFO)
    assert installed is not None and handler.filters[0] is installed


@pytest.mark.slow
def test_device_scale_lab_at_the_default_level_logs_concisely(tmp_path, monkeypatch):
    """labs/scale-2000 runs at the default (info) level: 60 tunnels coming up write about one line per kind
    of event and a summary, not 4 lines per tunnel."""
    from device_testlib import REPO

    from netconf_device.lab import Lab

    monkeypatch.setenv("NETCONF_DEVICE_LAB_REGISTRY", str(tmp_path / "port-registry"))
    lab = Lab.load(REPO / "labs" / "scale-2000", state_dir=tmp_path / "state", params={"tunnels": 60})
    assert all(device.log_level == "info" for device in lab.topology.devices.values())
    try:
        lab.up(wait=True, timeout=60)
    finally:
        lab.down()  # SIGTERM: the devices write their pending summaries before they exit
    for name in ("peer1", "peer2"):
        text = (tmp_path / "state" / "devices" / name / "device.log").read_text()
        lines = text.splitlines()
        assert len(lines) < 100, f"{name} wrote {len(lines)} lines:\n" + "\n".join(lines[:40])
        assert "installed (aes-256-gcm)" in text  # the first ones are still written in full
        assert re.search(r'\d+ more like "[^"]*child SA [^"]* installed', text), text
