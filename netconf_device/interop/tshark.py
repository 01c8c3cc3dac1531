"""tshark as an independent checker: decrypt a capture with given IKE and ESP keys, report every packet.

    results = decrypt_pcap("cap.pcap", ike_keys=keys.ike_sas, esp_keys=keys.esp_sas())
    summary = summarize(results)     # ike_correct / ike_incorrect / esp_good / esp_bad / undecrypted ...

Keys go to tshark in its UAT files (``esp_sa``, ``ikev2_decryption_table``) inside a private temporary
``WIRESHARK_CONFIG_DIR`` (mode 0700, removed afterwards), never on a command line. Key records are the
``IkeSaKeys`` / ``EspSaKeys`` of ``charon_log`` (build them yourself for keys of our own daemon; algorithms
use strongSwan's names, e.g. proposal ``"IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384"``).

IKE on ports other than 500/4500 carries the non-ESP marker (strongSwan's rule whenever neither port is
500): pass those ports as ``udpencap_ports`` so tshark splits IKE-with-marker from ESP-in-UDP there.
tshark 4.0 verifies the IKE integrity checksum (HMAC and AEAD) and the ESP ICV (``esp.icv_good``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from netconf_device.interop.charon_log import CharonKeys, EspSaKeys, IkeSaKeys

# strongSwan algorithm names -> tshark 4.0 UAT enum strings
_ESP_ENCR = {
    "AES_GCM_16": "AES-GCM with 16 octet ICV [RFC4106]",
    "AES_GCM_12": "AES-GCM with 12 octet ICV [RFC4106]",
    "AES_GCM_8": "AES-GCM with 8 octet ICV [RFC4106]",
    "AES_CBC": "AES-CBC [RFC3602]",
    "AES_CTR": "AES-CTR [RFC3686]",
    "3DES_CBC": "TripleDES-CBC [RFC2451]",
    "DES_CBC": "DES-CBC [RFC2405]",
    "NULL": "NULL",
}
_ESP_INTEG = {
    "HMAC_MD5_96": "HMAC-MD5-96 [RFC2403]",
    "HMAC_SHA1_96": "HMAC-SHA-1-96 [RFC2404]",
    "HMAC_SHA2_256_128": "HMAC-SHA-256-128 [RFC4868]",
    "HMAC_SHA2_384_192": "HMAC-SHA-384-192 [RFC4868]",
    "HMAC_SHA2_512_256": "HMAC-SHA-512-256 [RFC4868]",
    None: "NULL",
}
_IKE_INTEG = {
    "HMAC_MD5_96": "HMAC_MD5_96 [RFC2403]",
    "HMAC_SHA1_96": "HMAC_SHA1_96 [RFC2404]",
    "HMAC_SHA2_256_128": "HMAC_SHA2_256_128 [RFC4868]",
    "HMAC_SHA2_384_192": "HMAC_SHA2_384_192 [RFC4868]",
    "HMAC_SHA2_512_256": "HMAC_SHA2_512_256 [RFC4868]",
    None: "NONE [RFC4306]",
}


class TsharkError(RuntimeError):
    pass


def _ike_encr(name: str | None) -> str:
    m = re.fullmatch(r"AES_(CBC|CTR|GCM_(\d+)|CCM_(\d+))_(\d+)", name or "")
    if m:
        kind, bits = m.group(1), m.group(4)
        if kind == "CBC":
            return f"AES-CBC-{bits} [RFC3602]"
        if kind == "CTR":
            return f"AES-CTR-{bits} [RFC5930]"
        icv = m.group(2) or m.group(3)
        mode = "GCM" if m.group(2) else "CCM"
        return f"AES-{mode}-{bits} with {icv} octet ICV [RFC5282]"
    fixed = {"3DES_CBC": "3DES [RFC2451]", "NULL": "NULL [RFC2410]"}
    if name in fixed:
        return fixed[name]
    raise TsharkError(f"tshark cannot decrypt IKE encryption {name!r}")


def _esp_encr(name: str | None) -> str:
    base = re.sub(r"_(128|192|256)$", "", name or "")
    if base in _ESP_ENCR:
        return _ESP_ENCR[base]
    raise TsharkError(f"tshark cannot decrypt ESP encryption {name!r}")


def _q(value: str) -> str:
    if '"' in value or "\n" in value:
        raise TsharkError(f"bad UAT value {value!r}")
    return f'"{value}"'


def ike_uat_row(k: IkeSaKeys) -> str:
    """One ``ikev2_decryption_table`` line for an IKE_SA."""
    if k.integrity not in _IKE_INTEG:
        raise TsharkError(f"tshark cannot check IKE integrity {k.integrity!r}")
    # UAT: bytes fields are bare hex, enum fields quoted strings
    fields = [f"{k.spi_i:016x}", f"{k.spi_r:016x}", k.sk_ei.hex(), k.sk_er.hex(), _q(_ike_encr(k.encryption)),
              k.sk_ai.hex(), k.sk_ar.hex(), _q(_IKE_INTEG[k.integrity])]
    return ",".join(fields)


def esp_uat_row(k: EspSaKeys) -> str:
    """One ``esp_sa`` line for one ESP direction."""
    if k.integrity not in _ESP_INTEG:
        raise TsharkError(f"tshark cannot check ESP integrity {k.integrity!r}")
    family = "IPv6" if ":" in k.src else "IPv4"
    integ_key = ("0x" + k.integrity_key.hex()) if k.integrity_key else ""
    fields = [family, k.src, k.dst, f"0x{k.spi:08x}", _esp_encr(k.encryption), "0x" + k.encryption_key.hex(),
              _ESP_INTEG[k.integrity], integ_key]
    return ",".join(_q(f) for f in fields)


# ------------------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class PacketResult:
    """What tshark made of one frame. ``ike_integrity``/``esp_icv_good``: True (verified), False (wrong),
    None (nothing to verify or no key)."""

    number: int
    time: float
    protocols: str  # tshark's frame.protocols, e.g. "eth:ethertype:ip:udp:udpencap:esp:ip:icmp"
    src: str | None
    dst: str | None
    sport: int | None
    dport: int | None
    kind: str  # "ike" | "esp" | "other"
    non_esp_marker: bool = False
    ike_exchange: str | None = None  # "IKE_SA_INIT", "IKE_AUTH", "CREATE_CHILD_SA", "INFORMATIONAL"
    ike_spi_i: int | None = None
    ike_spi_r: int | None = None
    ike_message_id: int | None = None
    ike_response: bool | None = None
    ike_encrypted: bool = False
    ike_decrypted: bool = False
    ike_integrity: bool | None = None
    ike_payloads: tuple[str, ...] = ()  # inner payloads after decryption ("Identification - Initiator" ...)
    esp_spi: int | None = None
    esp_seq: int | None = None
    esp_icv_good: bool | None = None
    esp_decrypted: bool = False
    inner_src: str | None = None
    inner_dst: str | None = None
    inner_protocols: tuple[str, ...] = ()  # e.g. ("ip", "icmp")
    info: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class DecryptSummary:
    ike: int
    ike_encrypted: int
    ike_correct: int
    ike_incorrect: int
    ike_undecrypted: int
    esp: int
    esp_good: int
    esp_bad: int
    esp_unchecked: int

    @property
    def all_verified(self) -> bool:
        """Every encrypted IKE message and every ESP packet verified, none failed."""
        return (self.ike_incorrect == 0 and self.ike_undecrypted == 0 and self.ike_correct == self.ike_encrypted
                and self.esp_bad == 0 and self.esp_unchecked == 0 and self.esp_good == self.esp)


def summarize(results: Iterable[PacketResult]) -> DecryptSummary:
    res = list(results)
    ike = [r for r in res if r.kind == "ike"]
    enc = [r for r in ike if r.ike_encrypted]
    esp = [r for r in res if r.kind == "esp"]
    return DecryptSummary(
        ike=len(ike), ike_encrypted=len(enc),
        ike_correct=sum(r.ike_integrity is True for r in enc),
        ike_incorrect=sum(r.ike_integrity is False for r in enc),
        ike_undecrypted=sum(not r.ike_decrypted for r in enc),
        esp=len(esp), esp_good=sum(r.esp_icv_good is True for r in esp),
        esp_bad=sum(r.esp_icv_good is False for r in esp),
        esp_unchecked=sum(r.esp_icv_good is None for r in esp),
    )


# ------------------------------------------------------------------------------------------ running tshark
def _write_config(cfg: Path, ike_keys: Iterable[IkeSaKeys], esp_keys: Iterable[EspSaKeys]) -> None:
    old = os.umask(0o077)
    try:
        (cfg / "ikev2_decryption_table").write_text("".join(ike_uat_row(k) + "\n" for k in ike_keys))
        (cfg / "esp_sa").write_text("".join(esp_uat_row(k) + "\n" for k in esp_keys))
        (cfg / "preferences").write_text(
            "esp.enable_encryption_decode: TRUE\n"
            "esp.enable_authentication_check: TRUE\n"
            "esp.do_esp_sequence_analysis: TRUE\n"
        )
    finally:
        os.umask(old)


def run_tshark(
    pcap: str | os.PathLike[str],
    *,
    ike_keys: Iterable[IkeSaKeys] = (),
    esp_keys: Iterable[EspSaKeys] = (),
    udpencap_ports: Iterable[int] = (),
    ike_ports: Iterable[int] = (),
    args: Iterable[str] = (),
    workdir: str | os.PathLike[str] | None = None,
    timeout: float = 120.0,
) -> str:
    """Run tshark on ``pcap`` with the keys installed; return stdout (``args`` e.g. ``["-V"]``)."""
    exe = shutil.which("tshark")
    if not exe:
        raise TsharkError("tshark not found (Debian: apt-get install tshark)")
    if not Path(pcap).exists():
        raise TsharkError(f"no capture file {pcap}")
    argv = [exe, "-n", "-r", str(pcap)]
    for p in udpencap_ports:
        argv += ["-d", f"udp.port=={int(p)},udpencap"]
    for p in ike_ports:
        argv += ["-d", f"udp.port=={int(p)},isakmp"]
    argv += list(args)
    with tempfile.TemporaryDirectory(prefix="wireshark-", dir=workdir) as cfg:
        os.chmod(cfg, 0o700)
        _write_config(Path(cfg), ike_keys, esp_keys)
        env = {**os.environ, "WIRESHARK_CONFIG_DIR": cfg}
        try:
            proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise TsharkError(f"tshark timed out after {timeout}s") from exc
    if proc.returncode != 0:
        raise TsharkError(f"tshark failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return proc.stdout


def decrypt_pcap(
    pcap: str | os.PathLike[str],
    *,
    ike_keys: Iterable[IkeSaKeys] = (),
    esp_keys: Iterable[EspSaKeys] = (),
    udpencap_ports: Iterable[int] = (),
    ike_ports: Iterable[int] = (),
    display_filter: str | None = None,
    workdir: str | os.PathLike[str] | None = None,
) -> list[PacketResult]:
    """Dissect ``pcap`` with the keys and return one PacketResult per frame (or per frame matching
    ``display_filter``)."""
    args = ["-T", "pdml"] + (["-Y", display_filter] if display_filter else [])
    pdml = run_tshark(pcap, ike_keys=ike_keys, esp_keys=esp_keys, udpencap_ports=udpencap_ports,
                      ike_ports=ike_ports, args=args, workdir=workdir)
    return parse_pdml(pdml.encode())


def decrypt_with_charon_keys(pcap: str | os.PathLike[str], keys: CharonKeys, **kwargs) -> list[PacketResult]:
    """``decrypt_pcap`` with every IKE_SA and ESP SA found in charon's log(s)."""
    usable_ike = [k for k in keys.ike_sas if k.proposal]
    return decrypt_pcap(pcap, ike_keys=usable_ike, esp_keys=keys.esp_sas(), **kwargs)


# ------------------------------------------------------------------------------------------ PDML
def _fields(elem: etree._Element, name: str) -> list[etree._Element]:
    return [f for f in elem.iter("field") if f.get("name") == name]


def _first(elem: etree._Element, name: str) -> etree._Element | None:
    for f in elem.iter("field"):
        if f.get("name") == name:
            return f
    return None


def _show(elem: etree._Element, name: str) -> str | None:
    f = _first(elem, name)
    return f.get("show") if f is not None else None


def _int_or_none(v: str | None, base: int = 10) -> int | None:
    if v is None or v == "":
        return None
    try:
        return int(v, 0) if v.startswith("0x") else int(v, base)
    except ValueError:
        return None


def _packet(pkt: etree._Element) -> PacketResult:
    protos = [p for p in pkt if p.tag == "proto"]
    frame = next((p for p in protos if p.get("name") == "frame"), pkt)
    number = _int_or_none(_show(frame, "frame.number")) or 0
    time = float(_show(frame, "frame.time_relative") or 0.0)
    protocols = _show(frame, "frame.protocols") or ""
    d: dict = {"number": number, "time": time, "protocols": protocols, "src": None, "dst": None,
               "sport": None, "dport": None, "kind": "other"}
    after_esp = False
    inner: list[str] = []
    for p in protos:
        name = p.get("name")
        if name in ("geninfo", "frame", "eth", "sll", "sll2", "ethertype", "_ws.malformed", "fake-field-wrapper"):
            continue
        if after_esp:
            inner.append(name or "")
            if name in ("ip", "ipv6") and "inner_src" not in d:
                prefix = "ip" if name == "ip" else "ipv6"
                d["inner_src"] = _show(p, f"{prefix}.src")
                d["inner_dst"] = _show(p, f"{prefix}.dst")
            continue
        if name in ("ip", "ipv6") and d["src"] is None:
            prefix = "ip" if name == "ip" else "ipv6"
            d["src"], d["dst"] = _show(p, f"{prefix}.src"), _show(p, f"{prefix}.dst")
        elif name == "udp" and d["sport"] is None:
            d["sport"] = _int_or_none(_show(p, "udp.srcport"))
            d["dport"] = _int_or_none(_show(p, "udp.dstport"))
        elif name == "udpencap":
            d["non_esp_marker"] = _first(p, "udpencap.non_esp_marker") is not None
        elif name == "isakmp" and d["kind"] == "other":
            d["kind"] = "ike"
            _isakmp(p, d)
        elif name == "esp":
            d["kind"] = "esp"
            d["esp_spi"] = _int_or_none(_show(p, "esp.spi"))
            d["esp_seq"] = _int_or_none(_show(p, "esp.sequence"))
            good, bad = _show(p, "esp.icv_good"), _show(p, "esp.icv_bad")
            if good == "1" and bad != "1":
                d["esp_icv_good"] = True
            elif bad == "1":
                d["esp_icv_good"] = False
            d["esp_decrypted"] = _first(p, "esp.decrypted_data") is not None
            after_esp = True
    d["inner_protocols"] = tuple(inner)
    return PacketResult(**d)


def _isakmp(p: etree._Element, d: dict) -> None:
    d["ike_spi_i"] = _int_or_none(_value(p, "isakmp.ispi"), 16)
    d["ike_spi_r"] = _int_or_none(_value(p, "isakmp.rspi"), 16)
    ex = _first(p, "isakmp.exchangetype")
    if ex is not None:
        m = re.match(r"^Exchange type: (\S+)", ex.get("showname", ""))
        d["ike_exchange"] = m.group(1) if m else ex.get("show")
    d["ike_response"] = _show(p, "isakmp.flag_r") == "1"
    d["ike_message_id"] = _int_or_none(_show(p, "isakmp.messageid"))
    icd = _first(p, "isakmp.enc.icd")
    encrypted = icd is not None or _first(p, "isakmp.enc.data") is not None or any(
        f.get("showname", "").startswith(("Payload: Encrypted and Authenticated", "Payload: Encrypted"))
        for f in _fields(p, "isakmp.typepayload"))
    d["ike_encrypted"] = encrypted
    decrypted = _first(p, "isakmp.enc.decrypted")
    d["ike_decrypted"] = decrypted is not None
    if icd is not None:
        shown = icd.get("showname", "")
        if shown.endswith("[correct]"):
            d["ike_integrity"] = True
        elif "[incorrect" in shown:
            d["ike_integrity"] = False
    if decrypted is not None:
        names = []
        for f in decrypted.iter("field"):
            if f.get("name") == "isakmp.typepayload" and f.getparent() is not None and (
                    f.getparent() is decrypted or f.getparent().get("name") == "isakmp.enc.contained"):
                m = re.match(r"^Payload: (.+?) \(\d+\)(.*)$", f.get("showname", ""))
                if m:
                    rest = m.group(2).strip()  # " - NOTIFY_TYPE" or " # 1"
                    names.append(m.group(1) + (" " + rest[2:] if rest.startswith("- ") else ""))
        d["ike_payloads"] = tuple(names)


def _value(p: etree._Element, name: str) -> str | None:
    f = _first(p, name)
    return f.get("value") if f is not None else None


def parse_pdml(data: bytes) -> list[PacketResult]:
    """Parse tshark ``-T pdml`` output (trusted local tool output, still parsed without entities/network)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=True)
    if not data.strip():
        return []
    root = etree.fromstring(data, parser)
    return [_packet(pkt) for pkt in root.iter("packet")]
