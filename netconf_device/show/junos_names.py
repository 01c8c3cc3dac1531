"""How Junos prints algorithms, identities and lifetimes in `show security ...` output.

The configuration (and so the intent) uses configuration keywords (``aes-256-gcm``, ``sha-256``,
``group19``); the show commands print other spellings (``aes-gcm-256``, ``hmac-sha256-128``,
``DH-group-19``). The integration calls these helpers when it fills the views from the engines' snapshots.

Captured spellings (reference/junos-xml.md §1.2, §1.4, §2.2): IKE ``aes256-cbc``, ``hmac-sha1-96``,
``hmac-sha1``, ``DH-group-5``, ``Pre-shared-keys``, ``RSA-signatures``; IPsec brief ``ESP:aes-gcm-128/None``,
``ESP:aes-cbc-256/sha256``, ``3des``; IPsec detail ``aes-gcm (128 bits)``, ``aes-cbc (256 bits)``,
``hmac-sha1-96``; traffic selectors ``ipv4_subnet(any:0,[0..7]=0.0.0.0/0)``.
Everything else here is DERIVED from those patterns (marked per entry).
"""

from __future__ import annotations

import functools
import ipaddress

# ------------------------------------------------------------------------------------------------ IKE
_IKE_ENCRYPTION = {
    "des-cbc": "des-cbc",
    "3des-cbc": "3des-cbc",
    "aes-128-cbc": "aes128-cbc",
    "aes-192-cbc": "aes192-cbc",
    "aes-256-cbc": "aes256-cbc",  # captured
    "aes-128-gcm": "aes128-gcm",  # DERIVED: same pattern as aes256-cbc; no GCM IKE capture exists
    "aes-256-gcm": "aes256-gcm",  # DERIVED
}

# IKE integrity: Junos prints the truncated HMAC name (captured: hmac-sha1-96).
_IKE_INTEGRITY = {
    "md5": "hmac-md5-96",
    "sha1": "hmac-sha1-96",  # captured
    "sha-256": "hmac-sha256-128",
    "sha-384": "hmac-sha384-192",
    "sha-512": "hmac-sha512-256",
}

# IKE PRF (captured: hmac-sha1).
_IKE_PRF = {
    "md5": "hmac-md5",
    "sha1": "hmac-sha1",
    "sha-256": "hmac-sha256",
    "sha-384": "hmac-sha384",
    "sha-512": "hmac-sha512",
}

_IKE_AUTH_METHOD = {
    "pre-shared-keys": "Pre-shared-keys",  # captured
    "rsa-signatures": "RSA-signatures",  # captured
    "dsa-signatures": "DSA-signatures",  # DERIVED
    "ecdsa-signatures-256": "ECDSA-signatures-256",  # DERIVED
    "ecdsa-signatures-384": "ECDSA-signatures-384",  # DERIVED
}

NO_ALGORITHM = "None"  # what Junos prints for "no separate integrity" with AES-GCM (captured for IPsec)


def ike_encryption_name(keyword: str) -> str:
    """``aes-256-cbc`` -> ``aes256-cbc`` (as in ``Encryption : aes256-cbc``)."""
    return _IKE_ENCRYPTION.get(keyword, keyword)


def ike_integrity_name(keyword: str | None) -> str:
    """``sha-256`` -> ``hmac-sha256-128``; ``None`` (AES-GCM proposal) -> ``None``."""
    if keyword is None:
        return NO_ALGORITHM
    return _IKE_INTEGRITY.get(keyword, keyword)


def ike_prf_name(keyword: str) -> str:
    """``sha-256`` -> ``hmac-sha256`` (the PRF keyword uses the same hash names as integrity)."""
    return _IKE_PRF.get(keyword, keyword)


def dh_group_name(keyword: str | int) -> str:
    """``group19`` or ``19`` -> ``DH-group-19`` (captured form: ``DH-group-5``)."""
    text = str(keyword)
    number = text[len("group") :] if text.startswith("group") else text
    return f"DH-group-{number}"


def ike_authentication_method_name(keyword: str) -> str:
    """``pre-shared-keys`` -> ``Pre-shared-keys``."""
    return _IKE_AUTH_METHOD.get(keyword, keyword)


# ---------------------------------------------------------------------------------------------- IPsec
def _split_cipher(keyword: str) -> tuple[str, int | None, str]:
    """``aes-256-gcm`` -> (``aes``, 256, ``gcm``); ``3des-cbc`` -> (``3des``, None, ``cbc``)."""
    parts = keyword.split("-")
    if len(parts) == 3 and parts[1].isdigit():
        return parts[0], int(parts[1]), parts[2]
    if len(parts) == 2:
        return parts[0], None, parts[1]
    return keyword, None, ""


def ipsec_brief_encryption_name(keyword: str) -> str:
    """Algorithm column of the brief listing: ``aes-256-gcm`` -> ``aes-gcm-256`` (captured ``aes-gcm-128``)."""
    cipher, bits, mode = _split_cipher(keyword)
    if bits is not None:
        return f"{cipher}-{mode}-{bits}"
    return cipher  # captured: 3des-cbc prints as "3des"


_IPSEC_BRIEF_HMAC = {
    "hmac-md5-96": "md5",
    "hmac-sha1-96": "sha1",  # captured
    "hmac-sha-256-128": "sha256",  # captured
    "hmac-sha-256-96": "sha256",
    "hmac-sha-384-192": "sha384",
    "hmac-sha-384": "sha384",
    "hmac-sha-512-256": "sha512",
    "hmac-sha-512": "sha512",
}

_IPSEC_DETAIL_HMAC = {
    "hmac-md5-96": "hmac-md5-96",
    "hmac-sha1-96": "hmac-sha1-96",  # captured
    "hmac-sha-256-128": "hmac-sha256-128",
    "hmac-sha-256-96": "hmac-sha256-96",
    "hmac-sha-384-192": "hmac-sha384-192",
    "hmac-sha-384": "hmac-sha384-192",
    "hmac-sha-512-256": "hmac-sha512-256",
    "hmac-sha-512": "hmac-sha512-256",
}


def ipsec_brief_integrity_name(keyword: str | None) -> str:
    """``None`` (AES-GCM) -> ``None`` (captured ``ESP:aes-gcm-128/None``); ``hmac-sha-256-128`` -> ``sha256``."""
    if keyword is None:
        return NO_ALGORITHM
    return _IPSEC_BRIEF_HMAC.get(keyword, keyword)


def ipsec_detail_encryption_name(keyword: str) -> str:
    """``aes-256-gcm`` -> ``aes-gcm (256 bits)`` (captured ``aes-gcm (128 bits)``, ``3des-cbc``)."""
    cipher, bits, mode = _split_cipher(keyword)
    if bits is not None:
        return f"{cipher}-{mode} ({bits} bits)"
    return keyword


def ipsec_detail_integrity_name(keyword: str | None) -> str:
    """``None`` (AES-GCM) -> ``None`` (captured); ``hmac-sha1-96`` -> ``hmac-sha1-96``."""
    if keyword is None:
        return NO_ALGORITHM
    return _IPSEC_DETAIL_HMAC.get(keyword, keyword)


@functools.lru_cache(maxsize=4096)  # a few distinct selectors, asked for twice per tunnel and listing
def proxy_identity(
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | str, protocol: str = "any", port: int = 0
) -> str:
    """A traffic selector as Junos prints it: ``ipv4_subnet(any:0,[0..7]=0.0.0.0/0)`` (captured).

    ``[0..7]`` spans the address and mask bytes (4 + 4 for IPv4); for IPv6 it is ``[0..31]`` (DERIVED).
    """
    net = ipaddress.ip_network(network, strict=False)
    last_byte = 2 * (net.max_prefixlen // 8) - 1
    family = "ipv4_subnet" if net.version == 4 else "ipv6_subnet"
    return f"{family}({protocol}:{port},[0..{last_byte}]={net.with_prefixlen})"


# -------------------------------------------------------------------------------------- formatting
def cookie_hex(spi: int) -> str:
    """An IKE SPI as the 16-hex-digit "cookie" Junos prints (``95ccf59c2783de54``)."""
    if not 0 <= spi < 1 << 64:
        raise ValueError(f"IKE SPI out of range: {spi}")
    return f"{spi:016x}"


def spi_hex(spi: int) -> str:
    """An ESP SPI in hex without ``0x`` (``bb0d675a``), zero-padded to 8 digits."""
    if not 0 <= spi < 1 << 32:
        raise ValueError(f"ESP SPI out of range: {spi}")
    return f"{spi:08x}"


def expires_in(seconds: int) -> str:
    """``Expires in 11242 seconds`` (captured for IKE and IPsec lifetimes)."""
    return f"Expires in {max(0, int(seconds))} seconds"


def junos_duration(seconds: int) -> str:
    """``112 days, 12 hours, 6 minutes, 25 seconds`` (captured in fpc up-time).

    DERIVED for short spans: leading zero units are left out and a count of 1 is singular
    (``5 minutes, 1 second``), as Junos prints uptimes of freshly booted components.
    """
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    for value, unit in ((days, "day"), (hours, "hour"), (minutes, "minute"), (secs, "second")):
        if parts or value or unit == "second":
            parts.append(f"{value} {unit}" + ("" if value == 1 else "s"))
    return ", ".join(parts)
