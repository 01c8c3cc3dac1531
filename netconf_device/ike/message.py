"""IKEv2 message and payload codec (RFC 7296 §3, RFC 7383 §2.5, RFC 7427).

Decoding is strict: every length is checked against what is left of the buffer and every fixed-size field
against its payload; anything malformed raises :class:`MalformedMessage` (never ``struct.error`` or
``IndexError``), which the engine turns into an INVALID_SYNTAX notify or a silent drop. Encoding never fails
for values the engine builds itself.

Payloads are small ``__slots__`` classes with ``encode_body()`` and a ``decode_body(data)`` class method;
the generic payload header (next payload, critical bit, length) is handled by :func:`encode_chain` /
:func:`decode_chain`. The SK and SKF payloads are kept opaque here; :mod:`.crypto` seals and opens them.
"""

from __future__ import annotations

import ipaddress
import struct

# ------------------------------------------------------------------------------------------- numbers
IKE_HEADER_LEN = 28
IKEV2_VERSION = 0x20  # major 2, minor 0

# exchange types
IKE_SA_INIT = 34
IKE_AUTH = 35
CREATE_CHILD_SA = 36
INFORMATIONAL = 37
EXCHANGE_NAMES = {IKE_SA_INIT: "IKE_SA_INIT", IKE_AUTH: "IKE_AUTH", CREATE_CHILD_SA: "CREATE_CHILD_SA",
                  INFORMATIONAL: "INFORMATIONAL"}

# header flags
FLAG_INITIATOR = 0x08
FLAG_VERSION = 0x10
FLAG_RESPONSE = 0x20

# payload types
PT_NONE = 0
PT_SA = 33
PT_KE = 34
PT_IDI = 35
PT_IDR = 36
PT_CERT = 37
PT_CERTREQ = 38
PT_AUTH = 39
PT_NONCE = 40
PT_NOTIFY = 41
PT_DELETE = 42
PT_VENDOR = 43
PT_TSI = 44
PT_TSR = 45
PT_SK = 46
PT_CP = 47
PT_EAP = 48
PT_SKF = 53

# protocol IDs
PROTO_IKE = 1
PROTO_AH = 2
PROTO_ESP = 3

# transform types and IDs
TT_ENCR = 1
TT_PRF = 2
TT_INTEG = 3
TT_DH = 4
TT_ESN = 5

ENCR_DES = 2
ENCR_3DES = 3
ENCR_NULL = 11
ENCR_AES_CBC = 12
ENCR_AES_CTR = 13
ENCR_AES_GCM_8 = 18
ENCR_AES_GCM_12 = 19
ENCR_AES_GCM_16 = 20
ENCR_CHACHA20_POLY1305 = 28

PRF_HMAC_MD5 = 1
PRF_HMAC_SHA1 = 2
PRF_HMAC_SHA2_256 = 5
PRF_HMAC_SHA2_384 = 6
PRF_HMAC_SHA2_512 = 7

INTEG_NONE = 0
INTEG_HMAC_MD5_96 = 1
INTEG_HMAC_SHA1_96 = 2
INTEG_HMAC_SHA2_256_128 = 12
INTEG_HMAC_SHA2_384_192 = 13
INTEG_HMAC_SHA2_512_256 = 14

ESN_NO = 0
ESN_YES = 1

ATTR_KEY_LENGTH = 14

# ID types
ID_IPV4_ADDR = 1
ID_FQDN = 2
ID_RFC822_ADDR = 3
ID_IPV6_ADDR = 5
ID_DER_ASN1_DN = 9
ID_DER_ASN1_GN = 10
ID_KEY_ID = 11

# certificate encodings
CERT_X509_SIGNATURE = 4

# authentication methods
AUTH_RSA_SIG = 1
AUTH_PSK = 2
AUTH_DSS = 3
AUTH_ECDSA_256 = 9
AUTH_ECDSA_384 = 10
AUTH_ECDSA_521 = 11
AUTH_DIGITAL_SIGNATURE = 14

# traffic selector types
TS_IPV4_ADDR_RANGE = 7
TS_IPV6_ADDR_RANGE = 8

# configuration payload
CFG_REQUEST = 1
CFG_REPLY = 2
CFG_SET = 3
CFG_ACK = 4

# notify message types: errors
N_UNSUPPORTED_CRITICAL_PAYLOAD = 1
N_INVALID_IKE_SPI = 4
N_INVALID_MAJOR_VERSION = 5
N_INVALID_SYNTAX = 7
N_INVALID_MESSAGE_ID = 9
N_INVALID_SPI = 11
N_NO_PROPOSAL_CHOSEN = 14
N_INVALID_KE_PAYLOAD = 17
N_AUTHENTICATION_FAILED = 24
N_SINGLE_PAIR_REQUIRED = 34
N_NO_ADDITIONAL_SAS = 35
N_INTERNAL_ADDRESS_FAILURE = 36
N_FAILED_CP_REQUIRED = 37
N_TS_UNACCEPTABLE = 38
N_INVALID_SELECTORS = 39
N_TEMPORARY_FAILURE = 43
N_CHILD_SA_NOT_FOUND = 44
# notify message types: status
N_INITIAL_CONTACT = 16384
N_SET_WINDOW_SIZE = 16385
N_ADDITIONAL_TS_POSSIBLE = 16386
N_IPCOMP_SUPPORTED = 16387
N_NAT_DETECTION_SOURCE_IP = 16388
N_NAT_DETECTION_DESTINATION_IP = 16389
N_COOKIE = 16390
N_USE_TRANSPORT_MODE = 16391
N_REKEY_SA = 16393
N_ESP_TFC_PADDING_NOT_SUPPORTED = 16394
N_NON_FIRST_FRAGMENTS_ALSO = 16395
N_MOBIKE_SUPPORTED = 16396
N_MULTIPLE_AUTH_SUPPORTED = 16404
N_IKEV2_FRAGMENTATION_SUPPORTED = 16430
N_SIGNATURE_HASH_ALGORITHMS = 16431

NOTIFY_ERROR_MAX = 16383  # types below 16384 are errors

NOTIFY_NAMES = {
    N_UNSUPPORTED_CRITICAL_PAYLOAD: "UNSUPPORTED_CRITICAL_PAYLOAD", N_INVALID_IKE_SPI: "INVALID_IKE_SPI",
    N_INVALID_MAJOR_VERSION: "INVALID_MAJOR_VERSION", N_INVALID_SYNTAX: "INVALID_SYNTAX",
    N_INVALID_MESSAGE_ID: "INVALID_MESSAGE_ID", N_INVALID_SPI: "INVALID_SPI",
    N_NO_PROPOSAL_CHOSEN: "NO_PROPOSAL_CHOSEN", N_INVALID_KE_PAYLOAD: "INVALID_KE_PAYLOAD",
    N_AUTHENTICATION_FAILED: "AUTHENTICATION_FAILED", N_SINGLE_PAIR_REQUIRED: "SINGLE_PAIR_REQUIRED",
    N_NO_ADDITIONAL_SAS: "NO_ADDITIONAL_SAS", N_INTERNAL_ADDRESS_FAILURE: "INTERNAL_ADDRESS_FAILURE",
    N_FAILED_CP_REQUIRED: "FAILED_CP_REQUIRED", N_TS_UNACCEPTABLE: "TS_UNACCEPTABLE",
    N_INVALID_SELECTORS: "INVALID_SELECTORS", N_TEMPORARY_FAILURE: "TEMPORARY_FAILURE",
    N_CHILD_SA_NOT_FOUND: "CHILD_SA_NOT_FOUND", N_INITIAL_CONTACT: "INITIAL_CONTACT",
    N_NAT_DETECTION_SOURCE_IP: "NAT_DETECTION_SOURCE_IP",
    N_NAT_DETECTION_DESTINATION_IP: "NAT_DETECTION_DESTINATION_IP", N_COOKIE: "COOKIE",
    N_REKEY_SA: "REKEY_SA", N_IKEV2_FRAGMENTATION_SUPPORTED: "IKEV2_FRAGMENTATION_SUPPORTED",
    N_SIGNATURE_HASH_ALGORITHMS: "SIGNATURE_HASH_ALGORITHMS", N_USE_TRANSPORT_MODE: "USE_TRANSPORT_MODE",
}

# signature hash algorithm identifiers (RFC 7427)
HASH_SHA1 = 1
HASH_SHA2_256 = 2
HASH_SHA2_384 = 3
HASH_SHA2_512 = 4

MAX_PROPOSALS = 64
MAX_TRANSFORMS = 64
MAX_TS = 32
MAX_DELETE_SPIS = 1024
MAX_PAYLOADS = 256

_U16 = struct.Struct("!H")
_HEADER = struct.Struct("!8s8sBBBBII")
_GENERIC = struct.Struct("!BBH")


class MalformedMessage(ValueError):
    """The bytes do not form a valid IKEv2 message (answer INVALID_SYNTAX or drop)."""


class UnsupportedCriticalPayload(MalformedMessage):
    def __init__(self, payload_type: int):
        super().__init__(f"unsupported critical payload {payload_type}")
        self.payload_type = payload_type


# ------------------------------------------------------------------------------------------- payloads
class Payload:
    __slots__ = ()
    TYPE = 0
    critical = False

    def encode_body(self) -> bytes:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def decode_body(cls, data: bytes) -> Payload:  # pragma: no cover - abstract
        raise NotImplementedError


class Transform:
    __slots__ = ("type", "id", "key_length")

    def __init__(self, ttype: int, tid: int, key_length: int | None = None):
        self.type = ttype
        self.id = tid
        self.key_length = key_length

    def key(self) -> tuple[int, int, int | None]:
        return (self.type, self.id, self.key_length)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Transform) and self.key() == other.key()

    def __hash__(self) -> int:
        return hash(self.key())

    def __repr__(self) -> str:
        kl = f"/{self.key_length}" if self.key_length else ""
        return f"T({self.type}:{self.id}{kl})"


class Proposal:
    __slots__ = ("num", "protocol", "spi", "transforms")

    def __init__(self, num: int, protocol: int, spi: bytes, transforms: list[Transform]):
        self.num = num
        self.protocol = protocol
        self.spi = spi
        self.transforms = transforms

    def of_type(self, ttype: int) -> list[Transform]:
        return [t for t in self.transforms if t.type == ttype]

    def first(self, ttype: int) -> Transform | None:
        for t in self.transforms:
            if t.type == ttype:
                return t
        return None

    def __repr__(self) -> str:
        return f"Proposal(#{self.num} proto={self.protocol} spi={self.spi.hex()} {self.transforms})"


class SaPayload(Payload):
    __slots__ = ("proposals",)
    TYPE = PT_SA

    def __init__(self, proposals: list[Proposal]):
        self.proposals = proposals

    def encode_body(self) -> bytes:
        out = bytearray()
        n = len(self.proposals)
        for i, p in enumerate(self.proposals):
            tbytes = bytearray()
            nt = len(p.transforms)
            for j, t in enumerate(p.transforms):
                attrs = b"" if t.key_length is None else struct.pack("!HH", 0x8000 | ATTR_KEY_LENGTH, t.key_length)
                tbytes += struct.pack("!BBHBBH", 0 if j == nt - 1 else 3, 0, 8 + len(attrs), t.type, 0, t.id)
                tbytes += attrs
            body = struct.pack("!BBBB", p.num, p.protocol, len(p.spi), nt) + p.spi + tbytes
            out += struct.pack("!BBH", 0 if i == n - 1 else 2, 0, 4 + len(body)) + body
        return bytes(out)

    @classmethod
    def decode_body(cls, data: bytes) -> SaPayload:
        proposals: list[Proposal] = []
        off, end = 0, len(data)
        last = 2
        while last == 2:
            if len(proposals) >= MAX_PROPOSALS:
                raise MalformedMessage("too many proposals")
            if end - off < 8:
                raise MalformedMessage("truncated proposal")
            last, _r, plen, num, proto, spi_size, ntrans = struct.unpack_from("!BBHBBBB", data, off)
            if last not in (0, 2) or plen < 8 + spi_size or off + plen > end:
                raise MalformedMessage("bad proposal length")
            if spi_size not in (0, 4, 8):
                raise MalformedMessage("bad SPI size")
            spi = bytes(data[off + 8: off + 8 + spi_size])
            toff, tend = off + 8 + spi_size, off + plen
            transforms: list[Transform] = []
            for j in range(ntrans):
                if tend - toff < 8:
                    raise MalformedMessage("truncated transform")
                tlast, _r1, tlen, ttype, _r2, tid = struct.unpack_from("!BBHBBH", data, toff)
                if tlen < 8 or toff + tlen > tend or tlast not in (0, 3) or (tlast == 0) != (j == ntrans - 1):
                    raise MalformedMessage("bad transform")
                key_length = None
                aoff, aend = toff + 8, toff + tlen
                while aoff < aend:
                    if aend - aoff < 4:
                        raise MalformedMessage("truncated attribute")
                    atype, aval = struct.unpack_from("!HH", data, aoff)
                    if atype & 0x8000:
                        if atype & 0x7FFF == ATTR_KEY_LENGTH:
                            key_length = aval
                        aoff += 4
                    else:
                        if aoff + 4 + aval > aend:
                            raise MalformedMessage("truncated attribute value")
                        aoff += 4 + aval
                transforms.append(Transform(ttype, tid, key_length))
                if len(transforms) > MAX_TRANSFORMS:
                    raise MalformedMessage("too many transforms")
                toff += tlen
            if toff != tend:
                raise MalformedMessage("proposal length mismatch")
            proposals.append(Proposal(num, proto, spi, transforms))
            off += plen
        if off != end:
            raise MalformedMessage("trailing bytes after last proposal")
        return cls(proposals)


class KePayload(Payload):
    __slots__ = ("group", "data")
    TYPE = PT_KE

    def __init__(self, group: int, data: bytes):
        self.group = group
        self.data = data

    def encode_body(self) -> bytes:
        return struct.pack("!HH", self.group, 0) + self.data

    @classmethod
    def decode_body(cls, data: bytes) -> KePayload:
        if len(data) < 5:
            raise MalformedMessage("short KE")
        return cls(_U16.unpack_from(data, 0)[0], bytes(data[4:]))


class NoncePayload(Payload):
    __slots__ = ("data",)
    TYPE = PT_NONCE

    def __init__(self, data: bytes):
        self.data = data

    def encode_body(self) -> bytes:
        return self.data

    @classmethod
    def decode_body(cls, data: bytes) -> NoncePayload:
        if not 16 <= len(data) <= 256:
            raise MalformedMessage("nonce length out of range")
        return cls(bytes(data))


class IdPayload(Payload):
    """IDi or IDr. ``body()`` (type + reserved + data) is the IDx' that AUTH signs."""

    __slots__ = ("TYPE", "id_type", "data")

    def __init__(self, ptype: int, id_type: int, data: bytes):
        self.TYPE = ptype
        self.id_type = id_type
        self.data = data

    def encode_body(self) -> bytes:
        return struct.pack("!BBH", self.id_type, 0, 0) + self.data

    @classmethod
    def decode_body(cls, data: bytes) -> IdPayload:  # type is set by the caller
        if len(data) < 5:
            raise MalformedMessage("short ID")
        return cls(0, data[0], bytes(data[4:]))


class CertPayload(Payload):
    __slots__ = ("encoding", "data")
    TYPE = PT_CERT

    def __init__(self, encoding: int, data: bytes):
        self.encoding = encoding
        self.data = data

    def encode_body(self) -> bytes:
        return bytes([self.encoding]) + self.data

    @classmethod
    def decode_body(cls, data: bytes) -> CertPayload:
        if len(data) < 2:
            raise MalformedMessage("short CERT")
        return cls(data[0], bytes(data[1:]))


class CertReqPayload(CertPayload):
    __slots__ = ()
    TYPE = PT_CERTREQ

    @classmethod
    def decode_body(cls, data: bytes) -> CertReqPayload:
        if len(data) < 1:
            raise MalformedMessage("short CERTREQ")
        return cls(data[0], bytes(data[1:]))


class AuthPayload(Payload):
    __slots__ = ("method", "data")
    TYPE = PT_AUTH

    def __init__(self, method: int, data: bytes):
        self.method = method
        self.data = data

    def encode_body(self) -> bytes:
        return struct.pack("!BBH", self.method, 0, 0) + self.data

    @classmethod
    def decode_body(cls, data: bytes) -> AuthPayload:
        if len(data) < 5:
            raise MalformedMessage("short AUTH")
        return cls(data[0], bytes(data[4:]))


class NotifyPayload(Payload):
    __slots__ = ("protocol", "spi", "notify_type", "data")
    TYPE = PT_NOTIFY

    def __init__(self, notify_type: int, data: bytes = b"", protocol: int = 0, spi: bytes = b""):
        self.notify_type = notify_type
        self.data = data
        self.protocol = protocol
        self.spi = spi

    @property
    def is_error(self) -> bool:
        return self.notify_type <= NOTIFY_ERROR_MAX

    def encode_body(self) -> bytes:
        return struct.pack("!BBH", self.protocol, len(self.spi), self.notify_type) + self.spi + self.data

    @classmethod
    def decode_body(cls, data: bytes) -> NotifyPayload:
        if len(data) < 4:
            raise MalformedMessage("short NOTIFY")
        proto, spi_size, ntype = struct.unpack_from("!BBH", data, 0)
        if spi_size not in (0, 4, 8) or 4 + spi_size > len(data):
            raise MalformedMessage("bad notify SPI size")
        return cls(ntype, bytes(data[4 + spi_size:]), proto, bytes(data[4: 4 + spi_size]))

    def __repr__(self) -> str:
        return f"N({NOTIFY_NAMES.get(self.notify_type, self.notify_type)})"


class DeletePayload(Payload):
    __slots__ = ("protocol", "spis")
    TYPE = PT_DELETE

    def __init__(self, protocol: int, spis: list[bytes] | None = None):
        self.protocol = protocol
        self.spis = spis or []

    def encode_body(self) -> bytes:
        spi_size = 0 if self.protocol == PROTO_IKE else 4
        return struct.pack("!BBH", self.protocol, spi_size, len(self.spis)) + b"".join(self.spis)

    @classmethod
    def decode_body(cls, data: bytes) -> DeletePayload:
        if len(data) < 4:
            raise MalformedMessage("short DELETE")
        proto, spi_size, n = struct.unpack_from("!BBH", data, 0)
        if proto == PROTO_IKE:
            if spi_size not in (0, 8) or len(data) != 4 + spi_size * n:
                raise MalformedMessage("bad IKE delete")
            return cls(proto, [])
        if proto not in (PROTO_AH, PROTO_ESP) or spi_size != 4 or n > MAX_DELETE_SPIS or len(data) != 4 + 4 * n:
            raise MalformedMessage("bad child delete")
        return cls(proto, [bytes(data[4 + 4 * i: 8 + 4 * i]) for i in range(n)])


class VendorPayload(Payload):
    __slots__ = ("data",)
    TYPE = PT_VENDOR

    def __init__(self, data: bytes):
        self.data = data

    def encode_body(self) -> bytes:
        return self.data

    @classmethod
    def decode_body(cls, data: bytes) -> VendorPayload:
        return cls(bytes(data))


class TrafficSelector:
    """One TS range: protocol 0 = any, ports 0-65535 = any."""

    __slots__ = ("ts_type", "ip_proto", "start_port", "end_port", "start", "end")

    def __init__(self, ts_type: int, ip_proto: int, start_port: int, end_port: int, start, end):
        self.ts_type = ts_type
        self.ip_proto = ip_proto
        self.start_port = start_port
        self.end_port = end_port
        self.start = start
        self.end = end

    def key(self) -> tuple:
        return (self.ts_type, self.ip_proto, self.start_port, self.end_port, self.start, self.end)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TrafficSelector) and self.key() == other.key()

    def __hash__(self) -> int:
        return hash(self.key())

    def __repr__(self) -> str:
        return f"TS({self.start}-{self.end} p{self.ip_proto} {self.start_port}-{self.end_port})"


class TsPayload(Payload):
    __slots__ = ("TYPE", "selectors")

    def __init__(self, ptype: int, selectors: list[TrafficSelector]):
        self.TYPE = ptype
        self.selectors = selectors

    def encode_body(self) -> bytes:
        out = bytearray(struct.pack("!BBH", len(self.selectors), 0, 0))
        for ts in self.selectors:
            alen = 16 if ts.ts_type == TS_IPV4_ADDR_RANGE else 40
            out += struct.pack("!BBHHH", ts.ts_type, ts.ip_proto, alen, ts.start_port, ts.end_port)
            out += ts.start.packed + ts.end.packed
        return bytes(out)

    @classmethod
    def decode_body(cls, data: bytes) -> TsPayload:
        if len(data) < 4:
            raise MalformedMessage("short TS")
        n = data[0]
        if n == 0 or n > MAX_TS:
            raise MalformedMessage("bad TS count")
        off, sels = 4, []
        for _ in range(n):
            if len(data) - off < 8:
                raise MalformedMessage("truncated TS")
            ts_type, proto, slen, sp, ep = struct.unpack_from("!BBHHH", data, off)
            if ts_type == TS_IPV4_ADDR_RANGE and slen == 16 and off + 16 <= len(data):
                a = ipaddress.IPv4Address(bytes(data[off + 8: off + 12]))
                b = ipaddress.IPv4Address(bytes(data[off + 12: off + 16]))
            elif ts_type == TS_IPV6_ADDR_RANGE and slen == 40 and off + 40 <= len(data):
                a = ipaddress.IPv6Address(bytes(data[off + 8: off + 24]))
                b = ipaddress.IPv6Address(bytes(data[off + 24: off + 40]))
            else:
                raise MalformedMessage("bad traffic selector")
            sels.append(TrafficSelector(ts_type, proto, sp, ep, a, b))
            off += slen
        if off != len(data):
            raise MalformedMessage("trailing bytes in TS")
        return cls(0, sels)


class CpPayload(Payload):
    __slots__ = ("cfg_type", "attributes")
    TYPE = PT_CP

    def __init__(self, cfg_type: int, attributes: list[tuple[int, bytes]]):
        self.cfg_type = cfg_type
        self.attributes = attributes

    def encode_body(self) -> bytes:
        out = bytearray(struct.pack("!BBH", self.cfg_type, 0, 0))
        for atype, value in self.attributes:
            out += struct.pack("!HH", atype & 0x7FFF, len(value)) + value
        return bytes(out)

    @classmethod
    def decode_body(cls, data: bytes) -> CpPayload:
        if len(data) < 4:
            raise MalformedMessage("short CP")
        off, attrs = 4, []
        while off < len(data):
            if len(data) - off < 4:
                raise MalformedMessage("truncated CP attribute")
            atype, alen = struct.unpack_from("!HH", data, off)
            if off + 4 + alen > len(data):
                raise MalformedMessage("truncated CP attribute value")
            attrs.append((atype & 0x7FFF, bytes(data[off + 4: off + 4 + alen])))
            off += 4 + alen
        return cls(data[0], attrs)


class SkPayload(Payload):
    """Encrypted payload, opaque here: ``data`` is IV | ciphertext | ICV; ``first_inner`` the next-payload."""

    __slots__ = ("first_inner", "data", "offset")
    TYPE = PT_SK

    def __init__(self, first_inner: int, data: bytes, offset: int = 0):
        self.first_inner = first_inner
        self.data = data
        self.offset = offset  # where the payload's generic header starts within the message

    def encode_body(self) -> bytes:
        return self.data


class SkfPayload(Payload):
    """Encrypted fragment (RFC 7383): fragment number, total, then IV | ciphertext | ICV."""

    __slots__ = ("first_inner", "number", "total", "data", "offset")
    TYPE = PT_SKF

    def __init__(self, first_inner: int, number: int, total: int, data: bytes, offset: int = 0):
        self.first_inner = first_inner
        self.number = number
        self.total = total
        self.data = data
        self.offset = offset

    def encode_body(self) -> bytes:
        return struct.pack("!HH", self.number, self.total) + self.data


class UnknownPayload(Payload):
    __slots__ = ("TYPE", "data")

    def __init__(self, ptype: int, data: bytes):
        self.TYPE = ptype
        self.data = data

    def encode_body(self) -> bytes:
        return self.data


class EapPayload(UnknownPayload):
    __slots__ = ()


_DECODERS = {
    PT_SA: SaPayload.decode_body,
    PT_KE: KePayload.decode_body,
    PT_CERT: CertPayload.decode_body,
    PT_CERTREQ: CertReqPayload.decode_body,
    PT_AUTH: AuthPayload.decode_body,
    PT_NONCE: NoncePayload.decode_body,
    PT_NOTIFY: NotifyPayload.decode_body,
    PT_DELETE: DeletePayload.decode_body,
    PT_VENDOR: VendorPayload.decode_body,
    PT_CP: CpPayload.decode_body,
}


def _decode_payload(ptype: int, body: bytes) -> Payload:
    if ptype in (PT_IDI, PT_IDR):
        p = IdPayload.decode_body(body)
        p.TYPE = ptype
        return p
    if ptype in (PT_TSI, PT_TSR):
        t = TsPayload.decode_body(body)
        t.TYPE = ptype
        return t
    dec = _DECODERS.get(ptype)
    if dec is None:
        return UnknownPayload(ptype, bytes(body))
    return dec(body)


# ------------------------------------------------------------------------------------------- chains
def encode_chain(payloads: list[Payload], last_next: int = PT_NONE) -> tuple[int, bytes]:
    """Encode payloads with generic headers; returns (type of the first payload, bytes)."""
    if not payloads:
        return last_next, b""
    parts = []
    n = len(payloads)
    for i, p in enumerate(payloads):
        body = p.encode_body()
        nxt = payloads[i + 1].TYPE if i + 1 < n else last_next
        parts.append(_GENERIC.pack(nxt, 0x80 if p.critical else 0, 4 + len(body)))
        parts.append(body)
    return payloads[0].TYPE, b"".join(parts)


def decode_chain(first: int, data: bytes, base_offset: int = 0) -> list[Payload]:
    """Decode a payload chain that fills ``data`` exactly. SK/SKF must be last and are kept opaque."""
    payloads: list[Payload] = []
    off, end, ptype = 0, len(data), first
    while ptype != PT_NONE:
        if len(payloads) >= MAX_PAYLOADS:
            raise MalformedMessage("too many payloads")
        if end - off < 4:
            raise MalformedMessage("truncated payload header")
        nxt, flags, plen = _GENERIC.unpack_from(data, off)
        if plen < 4 or off + plen > end:
            raise MalformedMessage(f"payload {ptype} length {plen} out of bounds")
        body = data[off + 4: off + plen]
        if ptype == PT_SK:
            if off + plen != end:
                raise MalformedMessage("SK payload is not last")
            payloads.append(SkPayload(nxt, bytes(body), base_offset + off))
            return payloads
        if ptype == PT_SKF:
            if off + plen != end or plen < 8:
                raise MalformedMessage("bad SKF payload")
            num, total = struct.unpack_from("!HH", body, 0)
            if num == 0 or total == 0 or num > total:
                raise MalformedMessage("bad fragment numbering")
            payloads.append(SkfPayload(nxt, num, total, bytes(body[4:]), base_offset + off))
            return payloads
        if ptype not in _KNOWN_TYPES:
            if flags & 0x80:
                raise UnsupportedCriticalPayload(ptype)
            payloads.append(UnknownPayload(ptype, bytes(body)))
        else:
            payloads.append(_decode_payload(ptype, body))
        off += plen
        ptype = nxt
    if off != end:
        raise MalformedMessage("trailing bytes after payload chain")
    return payloads


_KNOWN_TYPES = frozenset({PT_SA, PT_KE, PT_IDI, PT_IDR, PT_CERT, PT_CERTREQ, PT_AUTH, PT_NONCE, PT_NOTIFY,
                          PT_DELETE, PT_VENDOR, PT_TSI, PT_TSR, PT_CP})


# ------------------------------------------------------------------------------------------- message
class Message:
    """A decoded (or to-be-encoded) IKE message. ``payloads`` are the plaintext payloads."""

    __slots__ = ("spi_i", "spi_r", "exchange", "flags", "msg_id", "payloads", "raw", "first_payload",
                 "encrypted", "fragment")

    def __init__(self, spi_i: bytes, spi_r: bytes, exchange: int, flags: int, msg_id: int,
                 payloads: list[Payload] | None = None):
        self.spi_i = spi_i
        self.spi_r = spi_r
        self.exchange = exchange
        self.flags = flags
        self.msg_id = msg_id
        self.payloads = payloads if payloads is not None else []
        self.raw = b""
        self.first_payload = PT_NONE
        self.encrypted: SkPayload | None = None
        self.fragment: SkfPayload | None = None

    @property
    def is_response(self) -> bool:
        return bool(self.flags & FLAG_RESPONSE)

    @property
    def from_initiator(self) -> bool:
        """Sender is the original initiator of the IKE SA (the I flag)."""
        return bool(self.flags & FLAG_INITIATOR)

    def get(self, ptype: int) -> Payload | None:
        for p in self.payloads:
            if p.TYPE == ptype:
                return p
        return None

    def get_all(self, ptype: int) -> list:
        return [p for p in self.payloads if p.TYPE == ptype]

    def notify(self, ntype: int) -> NotifyPayload | None:
        for p in self.payloads:
            if p.TYPE == PT_NOTIFY and p.notify_type == ntype:  # type: ignore[attr-defined]
                return p  # type: ignore[return-value]
        return None

    def notifies(self) -> list[NotifyPayload]:
        return [p for p in self.payloads if p.TYPE == PT_NOTIFY]  # type: ignore[misc]

    def error_notify(self) -> NotifyPayload | None:
        for p in self.payloads:
            if p.TYPE == PT_NOTIFY and p.notify_type <= NOTIFY_ERROR_MAX:  # type: ignore[attr-defined]
                return p  # type: ignore[return-value]
        return None

    def header(self, length: int, first: int) -> bytes:
        return _HEADER.pack(self.spi_i, self.spi_r, first, IKEV2_VERSION, self.exchange, self.flags,
                            self.msg_id, length)

    def encode_plain(self) -> bytes:
        """Encode an unencrypted message (IKE_SA_INIT, or a notify outside any SA)."""
        first, body = encode_chain(self.payloads)
        return self.header(IKE_HEADER_LEN + len(body), first) + body

    def summary(self) -> str:
        names = []
        for p in self.payloads:
            if p.TYPE == PT_NOTIFY:
                names.append(repr(p))
            else:
                names.append(_PT_NAMES.get(p.TYPE, str(p.TYPE)))
        kind = "response" if self.is_response else "request"
        return f"{EXCHANGE_NAMES.get(self.exchange, self.exchange)} {kind} {self.msg_id} [ {' '.join(names)} ]"


_PT_NAMES = {PT_SA: "SA", PT_KE: "KE", PT_IDI: "IDi", PT_IDR: "IDr", PT_CERT: "CERT", PT_CERTREQ: "CERTREQ",
             PT_AUTH: "AUTH", PT_NONCE: "No", PT_DELETE: "D", PT_VENDOR: "V", PT_TSI: "TSi", PT_TSR: "TSr",
             PT_SK: "SK", PT_CP: "CP", PT_EAP: "EAP", PT_SKF: "SKF"}


def parse_header(data: bytes) -> tuple[bytes, bytes, int, int, int, int, int]:
    """(spi_i, spi_r, first payload, exchange, flags, msg_id, length) of a datagram, checked."""
    if len(data) < IKE_HEADER_LEN:
        raise MalformedMessage("shorter than the IKE header")
    spi_i, spi_r, first, version, exchange, flags, msg_id, length = _HEADER.unpack_from(data, 0)
    if version >> 4 != 2:
        raise MalformedMessage("not IKEv2")
    if length != len(data):
        raise MalformedMessage("length field does not match the datagram")
    return spi_i, spi_r, first, exchange, flags, msg_id, length


def decode_message(data: bytes) -> Message:
    """Decode header and (outer) payload chain. Encrypted content stays in ``msg.encrypted``/``fragment``."""
    spi_i, spi_r, first, exchange, flags, msg_id, _length = parse_header(data)
    msg = Message(spi_i, spi_r, exchange, flags, msg_id)
    msg.raw = data
    msg.first_payload = first
    payloads = decode_chain(first, memoryview(data)[IKE_HEADER_LEN:], IKE_HEADER_LEN)
    if payloads and isinstance(payloads[-1], SkPayload):
        msg.encrypted = payloads.pop()
    elif payloads and isinstance(payloads[-1], SkfPayload):
        msg.fragment = payloads.pop()
    msg.payloads = payloads
    return msg
