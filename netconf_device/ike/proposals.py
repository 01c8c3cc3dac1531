"""Junos proposal keywords <-> IKEv2 transforms, and proposal selection (RFC 7296 §2.7, §3.3).

An IKE proposal of the intent (``aes-256-cbc`` + ``sha-256`` + ``group14``) becomes one IKEv2 proposal
ENCR_AES_CBC/256, PRF_HMAC_SHA2_256, AUTH_HMAC_SHA2_256_128, D-H 14. AES-GCM IKE proposals carry no integrity
transform; their PRF follows Junos: SHA-256 for AES-128-GCM and SHA-384 for AES-256-GCM, unless an
authentication algorithm is configured, which then names the PRF. IPsec (ESP) proposals are AES-GCM only
(the PFE's datapath), plus the PFS group of the IPsec policy and the ESN choice of the VPN.
"""

from __future__ import annotations

from dataclasses import dataclass

from netconf_device.config.intent import IkeProposal, IpsecProposal

from . import dh
from . import message as m

# Junos encryption keyword -> (ENCR id, key bits)
IKE_ENCRYPTION = {
    "aes-128-cbc": (m.ENCR_AES_CBC, 128),
    "aes-192-cbc": (m.ENCR_AES_CBC, 192),
    "aes-256-cbc": (m.ENCR_AES_CBC, 256),
    "aes-128-gcm": (m.ENCR_AES_GCM_16, 128),
    "aes-256-gcm": (m.ENCR_AES_GCM_16, 256),
    "3des-cbc": (m.ENCR_3DES, None),
    "des-cbc": (m.ENCR_DES, None),
    "chacha20-poly1305": (m.ENCR_CHACHA20_POLY1305, None),
}

# Junos authentication keyword -> (INTEG id, PRF id)
IKE_AUTHENTICATION = {
    "md5": (m.INTEG_HMAC_MD5_96, m.PRF_HMAC_MD5),
    "sha1": (m.INTEG_HMAC_SHA1_96, m.PRF_HMAC_SHA1),
    "sha-256": (m.INTEG_HMAC_SHA2_256_128, m.PRF_HMAC_SHA2_256),
    "sha-384": (m.INTEG_HMAC_SHA2_384_192, m.PRF_HMAC_SHA2_384),
    "sha-512": (m.INTEG_HMAC_SHA2_512_256, m.PRF_HMAC_SHA2_512),
}
_AUTH_ALIASES = {"hmac-md5-96": "md5", "hmac-sha1-96": "sha1", "hmac-sha-256-128": "sha-256",
                 "hmac-sha-384-192": "sha-384", "hmac-sha-512-256": "sha-512", "sha-1": "sha1"}

ESP_ENCRYPTION = {
    "aes-128-gcm": (m.ENCR_AES_GCM_16, 128),
    "aes-256-gcm": (m.ENCR_AES_GCM_16, 256),
}

# names used by show commands (Junos style)
ENCR_DISPLAY = {
    (m.ENCR_AES_CBC, 128): "aes128-cbc", (m.ENCR_AES_CBC, 192): "aes192-cbc", (m.ENCR_AES_CBC, 256): "aes256-cbc",
    (m.ENCR_AES_GCM_16, 128): "aes128-gcm", (m.ENCR_AES_GCM_16, 256): "aes256-gcm",
    (m.ENCR_AES_GCM_16, 192): "aes192-gcm",
    (m.ENCR_AES_GCM_8, 128): "aes128-gcm-8", (m.ENCR_AES_GCM_8, 256): "aes256-gcm-8",
    (m.ENCR_AES_GCM_12, 128): "aes128-gcm-12", (m.ENCR_AES_GCM_12, 256): "aes256-gcm-12",
    (m.ENCR_3DES, None): "3des-cbc", (m.ENCR_DES, None): "des-cbc",
    (m.ENCR_CHACHA20_POLY1305, None): "chacha20-poly1305",
}
INTEG_DISPLAY = {m.INTEG_NONE: "none", m.INTEG_HMAC_MD5_96: "hmac-md5-96", m.INTEG_HMAC_SHA1_96: "hmac-sha1-96",
                 m.INTEG_HMAC_SHA2_256_128: "hmac-sha256-128", m.INTEG_HMAC_SHA2_384_192: "hmac-sha384-192",
                 m.INTEG_HMAC_SHA2_512_256: "hmac-sha512-256"}
PRF_DISPLAY = {m.PRF_HMAC_MD5: "hmac-md5", m.PRF_HMAC_SHA1: "hmac-sha1", m.PRF_HMAC_SHA2_256: "hmac-sha256",
               m.PRF_HMAC_SHA2_384: "hmac-sha384", m.PRF_HMAC_SHA2_512: "hmac-sha512"}
# the Junos keyword of an ESP algorithm (ChildSa.encryption_algorithm)
ESP_JUNOS_NAME = {(e, b): f"aes-{b}-gcm" for e in (m.ENCR_AES_GCM_8, m.ENCR_AES_GCM_12, m.ENCR_AES_GCM_16)
                  for b in (128, 256)}

_SUPPORTED_ENCR = {m.ENCR_AES_CBC, m.ENCR_AES_GCM_8, m.ENCR_AES_GCM_12, m.ENCR_AES_GCM_16, m.ENCR_3DES,
                   m.ENCR_DES, m.ENCR_CHACHA20_POLY1305}


class ProposalError(ValueError):
    """A configured proposal names an algorithm this daemon cannot negotiate."""


def dh_group_number(name: str | None) -> int | None:
    """``group14`` -> 14; None stays None."""
    if name is None:
        return None
    if not name.startswith("group") or not name[5:].isdigit():
        raise ProposalError(f"unknown DH group {name!r}")
    n = int(name[5:])
    if n not in dh.SUPPORTED_GROUPS:
        raise ProposalError(f"unsupported DH group {name!r}")
    return n


def _auth_keyword(name: str) -> str:
    return _AUTH_ALIASES.get(name, name)


def _short_icv_variants(encr: int, bits: int | None) -> list[m.Transform]:
    """AES-GCM with 12- and 8-byte ICVs, accepted (never offered) alongside the configured 16-byte ICV."""
    if encr != m.ENCR_AES_GCM_16:
        return []
    return [m.Transform(m.TT_ENCR, m.ENCR_AES_GCM_12, bits), m.Transform(m.TT_ENCR, m.ENCR_AES_GCM_8, bits)]


def ike_proposal(p: IkeProposal, num: int, spi: bytes = b"", accept: bool = False) -> m.Proposal:
    try:
        encr, bits = IKE_ENCRYPTION[p.encryption_algorithm]
    except KeyError:
        raise ProposalError(f"unknown IKE encryption algorithm {p.encryption_algorithm!r}") from None
    group = dh_group_number(p.dh_group)
    transforms = [m.Transform(m.TT_ENCR, encr, bits)]
    if accept:
        transforms += _short_icv_variants(encr, bits)
    aead = encr in (m.ENCR_AES_GCM_16, m.ENCR_CHACHA20_POLY1305)
    auth = _auth_keyword(p.authentication_algorithm) if p.authentication_algorithm else None
    if auth is not None and auth not in IKE_AUTHENTICATION:
        raise ProposalError(f"unknown IKE authentication algorithm {p.authentication_algorithm!r}")
    if aead:
        prf = IKE_AUTHENTICATION[auth][1] if auth else (m.PRF_HMAC_SHA2_384 if bits == 256 else m.PRF_HMAC_SHA2_256)
        transforms.append(m.Transform(m.TT_PRF, prf))
    else:
        integ, prf = IKE_AUTHENTICATION[auth or "sha1"]
        transforms.append(m.Transform(m.TT_PRF, prf))
        transforms.append(m.Transform(m.TT_INTEG, integ))
    transforms.append(m.Transform(m.TT_DH, group))
    return m.Proposal(num, m.PROTO_IKE, spi, transforms)


def ike_proposals(props: tuple[IkeProposal, ...], spi: bytes = b"", accept: bool = False) -> list[m.Proposal]:
    """Our IKE proposals: to offer (``accept`` False) or to select from as responder (``accept`` True)."""
    return [ike_proposal(p, i + 1, spi, accept) for i, p in enumerate(props)]


def esp_proposal(p: IpsecProposal, num: int, spi: bytes, pfs_group: int | None, esn: bool,
                 accept: bool = False) -> m.Proposal:
    try:
        encr, bits = ESP_ENCRYPTION[p.encryption_algorithm]
    except KeyError:
        raise ProposalError(f"unsupported ESP encryption algorithm {p.encryption_algorithm!r}") from None
    # Only the 16-byte ICV, also as responder (``accept``): the PFE's ESP is RFC 4106 with a 16-byte ICV, and
    # a child SA it cannot install would leave a tunnel that IKE reports up and that carries nothing. A peer
    # offering only AES-GCM-8/12 for ESP gets NO_PROPOSAL_CHOSEN instead. (IKE's own SK payloads accept them.)
    transforms = [m.Transform(m.TT_ENCR, encr, bits)]
    if pfs_group is not None:
        transforms.append(m.Transform(m.TT_DH, pfs_group))
    # with ESN configured we prefer it but still accept a peer without (RFC 4304 fallback)
    transforms.append(m.Transform(m.TT_ESN, m.ESN_YES if esn else m.ESN_NO))
    if esn:
        transforms.append(m.Transform(m.TT_ESN, m.ESN_NO))
    return m.Proposal(num, m.PROTO_ESP, spi, transforms)


def esp_proposals(props: tuple[IpsecProposal, ...], spi: bytes, pfs_group: int | None, esn: bool,
                  accept: bool = False) -> list[m.Proposal]:
    return [esp_proposal(p, i + 1, spi, pfs_group, esn, accept) for i, p in enumerate(props)]


def strip_dh(proposals: list[m.Proposal]) -> list[m.Proposal]:
    """The first child SA (in IKE_AUTH) never carries a D-H transform (RFC 7296 §1.2)."""
    return [m.Proposal(p.num, p.protocol, p.spi, [t for t in p.transforms if t.type != m.TT_DH])
            for p in proposals]


def _supported(t: m.Transform) -> bool:
    if t.type == m.TT_ENCR:
        if t.id not in _SUPPORTED_ENCR:
            return False
        if t.id in (m.ENCR_AES_CBC, m.ENCR_AES_GCM_8, m.ENCR_AES_GCM_12, m.ENCR_AES_GCM_16):
            return t.key_length in (128, 192, 256)
        return t.key_length is None
    return True


def select(offered: list[m.Proposal], ours: list[m.Proposal], protocol: int, ignore_dh: bool = False
           ) -> m.Proposal | None:
    """The first acceptable combination, in our order of preference, of one transform per type.

    Returns a proposal carrying the offered proposal's number and SPI and exactly one transform per type
    present (INTEG_NONE and the "no D-H" transform are accepted as absent). ``ignore_dh`` is used in IKE_AUTH.
    """
    for mine in ours:
        for theirs in offered:
            if theirs.protocol != protocol:
                continue
            chosen = _match(mine, theirs, ignore_dh)
            if chosen is not None:
                return m.Proposal(theirs.num, protocol, theirs.spi, chosen)
    return None


def _match(mine: m.Proposal, theirs: m.Proposal, ignore_dh: bool) -> list[m.Transform] | None:
    types = {t.type for t in mine.transforms} | {t.type for t in theirs.transforms}
    if ignore_dh:
        types.discard(m.TT_DH)
    their_keys = {(t.type, t.id, t.key_length) for t in theirs.transforms}
    chosen: list[m.Transform] = []
    for ttype in sorted(types):
        my_list = [t for t in mine.transforms if t.type == ttype]
        their_list = [t for t in theirs.transforms if t.type == ttype]
        if not my_list:
            # absent on our side: acceptable only if they also offer "none"
            none_id = m.INTEG_NONE if ttype == m.TT_INTEG else 0 if ttype == m.TT_DH else None
            if none_id is not None and any(t.id == none_id for t in their_list):
                continue
            return None
        if not their_list:
            none_id = m.INTEG_NONE if ttype == m.TT_INTEG else 0 if ttype == m.TT_DH else None
            if none_id is not None and any(t.id == none_id for t in my_list):
                continue
            return None
        pick = next((t for t in my_list if (t.type, t.id, t.key_length) in their_keys and _supported(t)), None)
        if pick is None:
            return None
        chosen.append(pick)
    return chosen


@dataclass(frozen=True)
class IkeAlgorithms:
    encr: int
    encr_bits: int | None
    prf: int
    integ: int
    dh_group: int

    @classmethod
    def from_proposal(cls, p: m.Proposal) -> IkeAlgorithms:
        e, prf, dhg = p.first(m.TT_ENCR), p.first(m.TT_PRF), p.first(m.TT_DH)
        integ = p.first(m.TT_INTEG)
        if e is None or prf is None or dhg is None:
            raise ProposalError("incomplete IKE proposal")
        aead = e.id in (m.ENCR_AES_GCM_8, m.ENCR_AES_GCM_12, m.ENCR_AES_GCM_16, m.ENCR_CHACHA20_POLY1305)
        integ_id = integ.id if integ else m.INTEG_NONE
        if aead == (integ_id != m.INTEG_NONE):
            raise ProposalError("AEAD needs no integrity transform, CBC needs one")
        return cls(e.id, e.key_length, prf.id, integ_id, dhg.id)

    @property
    def encryption_name(self) -> str:
        return ENCR_DISPLAY.get((self.encr, self.encr_bits), f"encr-{self.encr}")

    @property
    def integrity_name(self) -> str:
        return INTEG_DISPLAY.get(self.integ, f"integ-{self.integ}")

    @property
    def prf_name(self) -> str:
        return PRF_DISPLAY.get(self.prf, f"prf-{self.prf}")


@dataclass(frozen=True)
class EspAlgorithms:
    encr: int
    encr_bits: int | None
    esn: bool
    dh_group: int | None

    @classmethod
    def from_proposal(cls, p: m.Proposal) -> EspAlgorithms:
        e = p.first(m.TT_ENCR)
        if e is None:
            raise ProposalError("ESP proposal without encryption")
        esn_t = p.first(m.TT_ESN)
        dh_t = p.first(m.TT_DH)
        return cls(e.id, e.key_length, bool(esn_t and esn_t.id == m.ESN_YES), dh_t.id if dh_t and dh_t.id else None)

    @property
    def junos_name(self) -> str:
        return ESP_JUNOS_NAME.get((self.encr, self.encr_bits), f"encr-{self.encr}")

    @property
    def icv_length(self) -> int:
        return {m.ENCR_AES_GCM_8: 8, m.ENCR_AES_GCM_12: 12}.get(self.encr, 16)
