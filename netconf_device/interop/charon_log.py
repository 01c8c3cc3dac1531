"""IKE and child-SA keys from a charon file log written with ``ike=4`` and ``chd=4`` (and ``mgr=2``,
``enc=1``, ``cfg=1``), for comparing our own key derivation with strongSwan's and for tshark decryption.

Debian's charon has no ``save-keys`` plugin, so the keys come from the level-4 dumps
(``Sk_ei secret => 36 bytes @ 0x..`` followed by hex lines). Attribution rules, all verified on 5.9.8:

* A *job* is what one worker thread logs from one IKE_SA checkout to the next; charon processes one
  message (or one vici command) per job, so the lines of a job belong together.
* **IKE keys** belong to the IKE_SA named by the first ``checkin IKEv2 SA name[N] with SPIs I_i R_r`` (R not
  zero) that follows the dump in the same job. That is right for the initial SA (initiator: job of the
  IKE_SA_INIT response; responder: keys derived lazily in the IKE_AUTH job) and for IKE rekeys from either
  side, where the new SA is checked in before the old one.
* **IKE proposal**: the ``selected proposal: IKE:`` of the same job, else the one selected in the job that
  first checked in the same SPIs (the responder selects in IKE_SA_INIT but derives keys in IKE_AUTH).
* **Child keys** are logged as ``encryption initiator key`` / ``responder key`` where initiator means the
  initiator of *that exchange* (IKE_AUTH or CREATE_CHILD_SA). The job parsed a ``response`` when this node
  initiated the exchange, a ``request`` otherwise. Traffic from the exchange initiator uses the initiator
  keys, so: exchange initiator -> outbound uses the initiator keys, inbound the responder keys.
* The SPIs come from ``adding inbound ESP SA`` / ``adding|registering outbound ESP SA`` + ``SPI 0x.., src ..
  dst ..`` in the same job (``registering``: make-before-break rekeying installs the outbound SA later).

The keys are returned in memory (``bytes`` fields hidden from repr); nothing here logs them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

_LINE = re.compile(r"^(?:[^\[]*? )?(\d+)\[([A-Z]{3})\] (?:<(?:([^|>]*)\|)?(\d+)> )?(.*)$")
_DUMP_HEAD = re.compile(r"^(.+?) => (\d+) bytes @ (?:0x)?[0-9a-fA-F]+$")
_DUMP_ROW = re.compile(r"^\s*(\d+): ((?:[0-9A-F]{2} ){0,15}[0-9A-F]{2})")
_CHECKOUT = re.compile(r"^checkout ")
_CHECKIN = re.compile(r"^checkin (?:and destroy )?IKEv2 SA (\S+?)\[(\d+)\] with SPIs ([0-9a-f]{16})_i ([0-9a-f]{16})_r")
_PARSED = re.compile(r"^parsed (\S+) (request|response) (\d+) ")
_SELECTED = re.compile(r"^selected proposal: ((IKE|ESP|AH):\S+)")
_ADD_SA = re.compile(r"^(?:adding|registering) (inbound|outbound) (ESP|AH) SA")
_SA_SPI = re.compile(r"^\s*SPI 0x([0-9a-f]{8}), src (\S+) dst (\S+)")

_IKE_LABELS = {
    "Sk_d secret": "sk_d", "Sk_ai secret": "sk_ai", "Sk_ar secret": "sk_ar", "Sk_ei secret": "sk_ei",
    "Sk_er secret": "sk_er", "Sk_pi secret": "sk_pi", "Sk_pr secret": "sk_pr",
}
_CHILD_LABELS = {
    "encryption initiator key": "enc_i", "encryption responder key": "enc_r",
    "integrity initiator key": "integ_i", "integrity responder key": "integ_r",
}
_MAX_DUMP = 4096  # key dumps are tiny; anything larger is not a key


@dataclass(frozen=True)
class IkeSaKeys:
    """Keys of one IKE_SA. ``sk_ei``/``sk_ai`` protect initiator->responder messages, ``sk_er``/``sk_ar`` the
    other direction (original initiator of the SA, not of an exchange). For AEAD (GCM) ``sk_e*`` include
    the 4-byte salt and ``sk_a*`` are empty."""

    name: str  # charon's "conn[unique-id]"
    spi_i: int
    spi_r: int
    proposal: str | None  # e.g. "IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048"
    sk_d: bytes = field(repr=False)
    sk_ai: bytes = field(repr=False)
    sk_ar: bytes = field(repr=False)
    sk_ei: bytes = field(repr=False)
    sk_er: bytes = field(repr=False)
    sk_pi: bytes = field(repr=False)
    sk_pr: bytes = field(repr=False)

    @property
    def encryption(self) -> str | None:
        return _proposal_parts(self.proposal)[0]

    @property
    def integrity(self) -> str | None:
        return _proposal_parts(self.proposal)[1]

    def to_dict(self) -> dict:
        return {
            "name": self.name, "spi_i": f"{self.spi_i:016x}", "spi_r": f"{self.spi_r:016x}",
            "proposal": self.proposal,
            **{k: getattr(self, k).hex() for k in ("sk_d", "sk_ai", "sk_ar", "sk_ei", "sk_er", "sk_pi", "sk_pr")},
        }


@dataclass(frozen=True)
class EspSaKeys:
    """One direction of a child SA as it appears on the wire: ESP from ``src`` to ``dst`` with ``spi``.
    ``encryption_key`` is key || salt for GCM (RFC 4106), ``integrity_key`` empty for AEAD."""

    spi: int
    src: str
    dst: str
    proposal: str | None
    encryption_key: bytes = field(repr=False)
    integrity_key: bytes = field(repr=False)

    @property
    def encryption(self) -> str | None:
        return _proposal_parts(self.proposal)[0]

    @property
    def integrity(self) -> str | None:
        return _proposal_parts(self.proposal)[1]


@dataclass(frozen=True)
class ChildSaKeys:
    """A child SA pair as the logging charon installed it: it receives with ``spi_in`` (``key_in``) and sends
    with ``spi_out`` (``key_out``). The peer's view is the mirror: its ``spi_in == spi_out`` here."""

    ike_sa: str  # "conn|unique-id" of the IKE_SA the job ran under
    protocol: str  # "ESP"
    proposal: str | None  # e.g. "ESP:AES_GCM_16_256/NO_EXT_SEQ"
    exchange_initiator: bool  # this charon initiated the IKE_AUTH/CREATE_CHILD_SA that made it
    spi_in: int
    spi_out: int
    local: str  # outer addresses: inbound dst / outbound src
    remote: str
    key_in: bytes = field(repr=False)
    key_out: bytes = field(repr=False)
    integ_key_in: bytes = field(repr=False)
    integ_key_out: bytes = field(repr=False)

    @property
    def inbound(self) -> EspSaKeys:
        return EspSaKeys(self.spi_in, self.remote, self.local, self.proposal, self.key_in, self.integ_key_in)

    @property
    def outbound(self) -> EspSaKeys:
        return EspSaKeys(self.spi_out, self.local, self.remote, self.proposal, self.key_out, self.integ_key_out)

    def to_dict(self) -> dict:
        return {
            "ike_sa": self.ike_sa, "protocol": self.protocol, "proposal": self.proposal,
            "exchange_initiator": self.exchange_initiator, "spi_in": f"{self.spi_in:08x}",
            "spi_out": f"{self.spi_out:08x}", "local": self.local, "remote": self.remote,
            "key_in": self.key_in.hex(), "key_out": self.key_out.hex(),
            "integ_key_in": self.integ_key_in.hex(), "integ_key_out": self.integ_key_out.hex(),
        }


@dataclass(frozen=True)
class CharonKeys:
    """Everything extracted from one (or, merged, several) charon logs, in log order."""

    ike_sas: tuple[IkeSaKeys, ...] = ()
    child_sas: tuple[ChildSaKeys, ...] = ()

    def ike(self, spi_i: int, spi_r: int | None = None) -> IkeSaKeys:
        for k in self.ike_sas:
            if k.spi_i == spi_i and (spi_r is None or k.spi_r == spi_r):
                return k
        raise KeyError(f"no IKE_SA keys for SPIs {spi_i:016x}/{spi_r or 0:016x}")

    def child(self, spi: int) -> ChildSaKeys:
        """The child SA pair that has ``spi`` as its inbound or outbound SPI."""
        for c in self.child_sas:
            if spi in (c.spi_in, c.spi_out):
                return c
        raise KeyError(f"no child SA keys for SPI {spi:08x}")

    def esp_sas(self) -> list[EspSaKeys]:
        """Every ESP direction once (by SPI), for decryption tables."""
        seen: dict[int, EspSaKeys] = {}
        for c in self.child_sas:
            if c.protocol != "ESP":
                continue
            for sa in (c.inbound, c.outbound):
                seen.setdefault(sa.spi, sa)
        return list(seen.values())

    def merge(self, other: CharonKeys) -> CharonKeys:
        """Union of two logs' keys (IKE_SAs deduplicated by SPIs, children by SPI pair)."""
        ike = {(k.spi_i, k.spi_r): k for k in other.ike_sas}
        ike.update({(k.spi_i, k.spi_r): k for k in self.ike_sas if k.proposal or (k.spi_i, k.spi_r) not in ike})
        kids = {frozenset((c.spi_in, c.spi_out)): c for c in (*other.child_sas, *self.child_sas)}
        return CharonKeys(tuple(ike.values()), tuple(kids.values()))

    def to_json(self) -> str:
        """Debug dump (contains the keys: write it only into an instance directory)."""
        return json.dumps(
            {"ike_sas": [k.to_dict() for k in self.ike_sas], "child_sas": [c.to_dict() for c in self.child_sas]},
            indent=2,
        )


def _proposal_parts(proposal: str | None) -> tuple[str | None, str | None]:
    """'IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_..' -> ('AES_CBC_256', 'HMAC_SHA2_256_128')."""
    if not proposal or ":" not in proposal:
        return None, None
    parts = proposal.split(":", 1)[1].split("/")
    integ = next((p for p in parts[1:] if p.startswith(("HMAC_", "AES_XCBC", "AES_CMAC"))), None)
    return parts[0], integ


# ------------------------------------------------------------------------------------------ parser
@dataclass
class _Dump:
    label: str
    length: int
    data: bytearray
    target: dict  # where the finished bytes go


@dataclass
class _Job:
    exchange_role: str | None = None  # "request" (we responded) or "response" (we initiated)
    ike_proposal: str | None = None
    esp_proposal: str | None = None
    ike_keys: list[dict] = field(default_factory=list)  # waiting for their checkin line
    child: dict | None = None  # child keys waiting for their SA installs
    pending_dir: str | None = None
    pending_proto: str | None = None


class _Extractor:
    def __init__(self) -> None:
        self.jobs: dict[str, _Job] = {}
        self.dumps: dict[str, _Dump] = {}
        self.ike: list[dict] = []
        self.children: list[ChildSaKeys] = []
        self.proposal_by_spis: dict[tuple[str, str], str] = {}

    def job(self, tid: str) -> _Job:
        return self.jobs.setdefault(tid, _Job())

    def feed(self, line: str) -> None:
        m = _LINE.match(line)
        if not m:
            return
        tid, group, conn, uid, msg = m.groups()
        dump = self.dumps.get(tid)
        if dump is not None:
            row = _DUMP_ROW.match(msg)
            if row and len(dump.data) < dump.length:
                dump.data.extend(bytes.fromhex(row.group(2).replace(" ", "")))
                if len(dump.data) >= dump.length:
                    dump.target[dump.label] = bytes(dump.data[:dump.length])
                    del self.dumps[tid]
                return
            del self.dumps[tid]  # a truncated dump: drop it
        job = self.job(tid)
        if group == "MGR":
            self._mgr(tid, job, msg)
        elif group == "ENC":
            p = _PARSED.match(msg)
            if p and p.group(1) != "ESP":
                job.exchange_role = p.group(2)
        elif group == "CFG":
            s = _SELECTED.match(msg)
            if s:
                if s.group(2) == "IKE":
                    job.ike_proposal = s.group(1)
                else:
                    job.esp_proposal = s.group(1)
        elif group == "IKE":
            d = _DUMP_HEAD.match(msg)
            if d and d.group(1) in _IKE_LABELS:
                label = _IKE_LABELS[d.group(1)]
                if label == "sk_d" or not job.ike_keys:
                    job.ike_keys.append({"proposal": job.ike_proposal})
                self._start_dump(tid, label, int(d.group(2)), job.ike_keys[-1])
        elif group == "CHD":
            self._chd(tid, job, msg, f"{conn or ''}|{uid or ''}")

    def _start_dump(self, tid: str, label: str, length: int, target: dict) -> None:
        if length == 0:
            target[label] = b""
        elif length <= _MAX_DUMP:
            self.dumps[tid] = _Dump(label, length, bytearray(), target)

    def _mgr(self, tid: str, job: _Job, msg: str) -> None:
        if _CHECKOUT.match(msg):
            self.jobs[tid] = _Job()
            return
        c = _CHECKIN.match(msg)
        if not c:
            return
        name, uid, spi_i, spi_r = c.groups()
        if spi_r == "0" * 16:
            return
        if job.ike_proposal:
            self.proposal_by_spis.setdefault((spi_i, spi_r), job.ike_proposal)
        complete = [k for k in job.ike_keys if "sk_d" in k]
        if complete:
            keys = complete[0]
            job.ike_keys.remove(keys)
            keys.update(name=f"{name}[{uid}]", spi_i=spi_i, spi_r=spi_r)
            self.ike.append(keys)

    def _chd(self, tid: str, job: _Job, msg: str, ike_sa: str) -> None:
        d = _DUMP_HEAD.match(msg)
        if d and d.group(1) in _CHILD_LABELS:
            label = _CHILD_LABELS[d.group(1)]
            if label == "enc_i" or job.child is None:
                job.child = {
                    "proposal": job.esp_proposal, "initiator": job.exchange_role == "response",
                    "ike_sa": ike_sa, "sas": {},
                }
            self._start_dump(tid, label, int(d.group(2)), job.child)
            return
        if job.child is None:
            return
        a = _ADD_SA.match(msg)
        if a:
            job.pending_dir, job.pending_proto = a.group(1), a.group(2)
            return
        s = _SA_SPI.match(msg)
        if s and job.pending_dir:
            job.child["sas"].setdefault(job.pending_dir, (int(s.group(1), 16), s.group(2), s.group(3)))
            job.child["protocol"] = job.pending_proto
            job.pending_dir = None
            if len(job.child["sas"]) == 2:
                self._finish_child(job.child)
                job.child = None

    def _finish_child(self, c: dict) -> None:
        spi_in, in_src, in_dst = c["sas"]["inbound"]
        spi_out, _, _ = c["sas"]["outbound"]
        # the exchange initiator sends with the initiator keys
        mine, theirs = ("i", "r") if c["initiator"] else ("r", "i")
        self.children.append(ChildSaKeys(
            ike_sa=c["ike_sa"], protocol=c.get("protocol", "ESP"), proposal=c["proposal"],
            exchange_initiator=c["initiator"], spi_in=spi_in, spi_out=spi_out, local=in_dst, remote=in_src,
            key_in=c.get(f"enc_{theirs}", b""), key_out=c.get(f"enc_{mine}", b""),
            integ_key_in=c.get(f"integ_{theirs}", b""), integ_key_out=c.get(f"integ_{mine}", b""),
        ))

    def result(self) -> CharonKeys:
        ike = []
        for k in self.ike:
            proposal = k.get("proposal") or self.proposal_by_spis.get((k["spi_i"], k["spi_r"]))
            ike.append(IkeSaKeys(
                name=k["name"], spi_i=int(k["spi_i"], 16), spi_r=int(k["spi_r"], 16), proposal=proposal,
                **{f: k.get(f, b"") for f in ("sk_d", "sk_ai", "sk_ar", "sk_ei", "sk_er", "sk_pi", "sk_pr")},
            ))
        return CharonKeys(tuple(ike), tuple(self.children))


def extract_keys(log: str | Iterable[str]) -> CharonKeys:
    """Keys from a charon log (its text, or an iterable of lines)."""
    ex = _Extractor()
    lines = log.splitlines() if isinstance(log, str) else log
    for line in lines:
        ex.feed(line.rstrip("\n"))
    return ex.result()
