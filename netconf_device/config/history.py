"""Committed configurations on disk: running, rollback 1-49, the rescue configuration, commit metadata.

Layout of the state directory::

    commits/00000042.conf   one immutable file per commit (a JSON header line, then the XML configuration)
    HEAD                    the sequence number of the running configuration (the commit point)
    rescue.conf             the rescue configuration (same file format)

A commit writes its file first and then replaces ``HEAD``; both writes are atomic (``persist.atomic_write``).
A crash before ``HEAD`` is replaced leaves an orphan file newer than ``HEAD``, removed on the next start, so
the running configuration is always the old or the new one. Rollback N is the N-th newest commit at or
below ``HEAD``; commits older than rollback 49 are deleted after ``HEAD`` moves.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from lxml import etree

from netconf_device.config import persist
from netconf_device.config.errors import StateError

log = logging.getLogger("netconf_device.config")

MAX_ROLLBACK = 49  # rollback 0 (running) ... 49, like Junos
FILE_MAGIC = "ndcfg-config 1 "
_COMMIT_NAME = re.compile(r"^(\d{8,})\.conf$")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True, huge_tree=True)


@dataclass(frozen=True)
class CommitInfo:
    """Metadata of one commit, as ``show system commit`` (``<commit-history>``) reports it."""

    sequence: int  # monotonic commit number in this state directory (not the rollback number)
    time: float  # seconds since the epoch
    user: str
    client: str  # "netconf" | "cli" | "other" (automatic rollback) | ...
    log: str | None = None  # the user's message (NETCONF <log>, CLI "commit comment")
    comment: str | None = None  # Junos' own note, e.g. "commit confirmed, rollback in 5mins"


def encode_config_file(tree: etree._Element, header: dict) -> bytes:
    body = etree.tostring(tree, encoding="utf-8")
    header = dict(header, sha256=hashlib.sha256(body).hexdigest())
    return (FILE_MAGIC + json.dumps(header, sort_keys=True) + "\n").encode() + body


def decode_config_file(data: bytes, name: str) -> tuple[dict, etree._Element]:
    """Parse a file written by ``encode_config_file``; ``StateError`` if it is torn or corrupt."""
    header, body = _split(data, name)
    if hashlib.sha256(body).hexdigest() != header.get("sha256"):
        raise StateError(f"{name}: configuration checksum mismatch (file corrupt)")
    try:
        tree = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise StateError(f"{name}: unreadable configuration: {exc}") from exc
    return header, tree


def read_header(path: Path) -> dict:
    with path.open("rb") as fh:
        first = fh.readline(1 << 20)
    header, _ = _split(first, path.name, header_only=True)
    return header


def _split(data: bytes, name: str, header_only: bool = False) -> tuple[dict, bytes]:
    newline = data.find(b"\n")
    if not data.startswith(FILE_MAGIC.encode()) or newline < 0:
        raise StateError(f"{name}: not a configuration file of this device")
    try:
        header = json.loads(data[len(FILE_MAGIC) : newline])
    except ValueError as exc:
        raise StateError(f"{name}: corrupt header: {exc}") from exc
    return header, (b"" if header_only else data[newline + 1 :])


class CommitStore:
    """The commits of one state directory. Not thread-safe (the device has one event loop)."""

    def __init__(self, state_dir: Path):
        self.state_dir = Path(state_dir)
        self.commit_dir = self.state_dir / "commits"
        self.commit_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        persist.remove_temporaries(self.state_dir)
        persist.remove_temporaries(self.commit_dir)
        self.head: int = self._read_head()
        self._infos: dict[int, CommitInfo] = {}
        self._drop_orphans()
        self._collect_garbage()

    # ------------------------------------------------------------------------------------ reading
    def _read_head(self) -> int:
        try:
            text = (self.state_dir / "HEAD").read_text()
        except FileNotFoundError:
            return 0
        try:
            return int(text.strip())
        except ValueError as exc:
            raise StateError(f"HEAD: corrupt ({text[:40]!r})") from exc

    def _sequences(self) -> list[int]:
        seqs = []
        for entry in self.commit_dir.iterdir():
            match = _COMMIT_NAME.match(entry.name)
            if match:
                seqs.append(int(match.group(1)))
        return sorted(seqs)

    def _path(self, seq: int) -> Path:
        return self.commit_dir / f"{seq:08d}.conf"

    def rollback_sequences(self) -> list[int]:
        """Sequence numbers of rollback 0, 1, ... (newest first)."""
        return [s for s in reversed(self._sequences()) if s <= self.head][: MAX_ROLLBACK + 1]

    def sequence_of(self, rollback: int) -> int | None:
        seqs = self.rollback_sequences()
        return seqs[rollback] if 0 <= rollback < len(seqs) else None

    def info(self, seq: int) -> CommitInfo:
        if seq not in self._infos:
            header = read_header(self._path(seq))
            self._infos[seq] = CommitInfo(**{k: header.get(k) for k in CommitInfo.__dataclass_fields__})
        return self._infos[seq]

    def history(self) -> list[CommitInfo]:
        """Commit metadata of rollback 0, 1, ... (newest first)."""
        return [self.info(seq) for seq in self.rollback_sequences()]

    def load(self, seq: int) -> etree._Element:
        path = self._path(seq)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise StateError(f"{path.name}: {exc.strerror}") from exc
        return decode_config_file(data, path.name)[1]

    # ------------------------------------------------------------------------------------ writing
    def prepare(self, tree: etree._Element, info_fields: dict) -> CommitInfo:
        """Write the file of the next commit (not yet running: ``publish`` makes it so)."""
        seq = max([self.head, *self._sequences()]) + 1
        info = CommitInfo(sequence=seq, **info_fields)
        persist.atomic_write(self._path(seq), encode_config_file(tree, asdict(info)))
        self._infos[seq] = info
        return info

    def publish(self, seq: int) -> None:
        """The commit point: ``seq`` becomes the running configuration (rollback 0)."""
        persist.atomic_write(self.state_dir / "HEAD", f"{seq}\n".encode())
        self.head = seq
        self._collect_garbage()

    def discard(self, seq: int) -> None:
        """Forget a prepared commit that will not be published (apply failed)."""
        persist.atomic_unlink(self._path(seq))
        self._infos.pop(seq, None)

    def _drop_orphans(self) -> None:
        for seq in self._sequences():
            if seq > self.head:
                log.warning("removing commit %d written by an interrupted commit", seq)
                self.discard(seq)

    def _collect_garbage(self) -> None:
        keep = set(self.rollback_sequences())
        for seq in self._sequences():
            if seq < self.head and seq not in keep:
                self._path(seq).unlink(missing_ok=True)
                self._infos.pop(seq, None)

    # ------------------------------------------------------------------------------------ rescue
    @property
    def rescue_path(self) -> Path:
        return self.state_dir / "rescue.conf"

    def save_rescue(self, tree: etree._Element, info_fields: dict) -> None:
        persist.atomic_write(self.rescue_path, encode_config_file(tree, info_fields))

    def load_rescue(self) -> etree._Element | None:
        try:
            data = self.rescue_path.read_bytes()
        except FileNotFoundError:
            return None
        return decode_config_file(data, self.rescue_path.name)[1]

    def delete_rescue(self) -> bool:
        existed = self.rescue_path.exists()
        persist.atomic_unlink(self.rescue_path)
        return existed
