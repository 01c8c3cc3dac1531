"""Packet capture as a context manager: tcpdump in a network namespace (or ours) writing a pcap.

    with Capture("/tmp/x/cap.pcap", netns="ndsw-l", interface="any", bpf="udp"):
        ...traffic...
    # the file is complete here (tcpdump got SIGINT and flushed)

tcpdump runs with ``--immediate-mode -U`` (each packet written at once) and ``-Z root`` (no privilege drop:
the capture file may live in a 0700 instance directory). ``start()`` returns only once tcpdump reports it
is listening, so no early packet is missed.
"""

from __future__ import annotations

import logging
import shutil
import signal
import subprocess
import time
import weakref
from pathlib import Path

from netconf_device.interop import netns as netns_mod

log = logging.getLogger("netconf_device.interop.capture")


class CaptureError(RuntimeError):
    pass


class Capture:
    def __init__(
        self,
        path: str | Path,
        *,
        netns: str | None = None,
        interface: str = "any",
        bpf: str | None = None,
        snaplen: int = 0,
    ) -> None:
        self.path = Path(path)
        self.netns = netns
        self.interface = interface
        self.bpf = bpf
        self.snaplen = snaplen
        self._proc: subprocess.Popen | None = None
        self._finalizer: weakref.finalize | None = None
        self._stderr_path = self.path.with_suffix(self.path.suffix + ".log")

    def start(self, timeout: float = 5.0) -> Capture:
        netns_mod.require_root("packet capture")
        tcpdump = shutil.which("tcpdump")
        if not tcpdump:
            raise CaptureError("tcpdump not found (Debian: apt-get install tcpdump)")
        if self._proc is not None:
            raise CaptureError("capture already running")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.unlink(missing_ok=True)
        argv = [tcpdump, "-i", self.interface, "-n", "-s", str(self.snaplen), "-U", "--immediate-mode",
                "-Z", "root", "-w", str(self.path)]
        if self.bpf:
            argv.append(self.bpf)
        if self.netns:
            argv = ["ip", "netns", "exec", self.netns, *argv]
        with open(self._stderr_path, "wb") as err:
            self._proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                          start_new_session=True)
        self._finalizer = weakref.finalize(self, _kill, self._proc)
        deadline = time.monotonic() + timeout
        while True:
            text = self._stderr_path.read_text(errors="replace")
            if "listening on" in text:
                return self
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise CaptureError(f"tcpdump did not start: {text.strip() or 'no output'}")
            time.sleep(0.02)

    def stop(self, timeout: float = 5.0) -> Path:
        """Stop tcpdump (SIGINT: it flushes and closes the file); idempotent. Returns the pcap path."""
        proc, self._proc = self._proc, None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        return self.path

    @property
    def summary(self) -> str:
        """tcpdump's closing statistics ("N packets captured ...")."""
        try:
            return self._stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def __enter__(self) -> Capture:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
