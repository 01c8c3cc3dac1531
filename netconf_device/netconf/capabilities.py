"""The capabilities the device advertises in its hello (Junos' list plus base:1.1, xpath and YANG modules)."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

log = logging.getLogger("netconf_device.netconf")

# Order and both URN styles as Junos sends them; ncclient abbreviates both to ":candidate" etc.
JUNOS_CAPABILITIES = (
    "urn:ietf:params:netconf:base:1.0",
    "urn:ietf:params:netconf:base:1.1",
    "urn:ietf:params:netconf:capability:candidate:1.0",
    "urn:ietf:params:netconf:capability:confirmed-commit:1.0",
    "urn:ietf:params:netconf:capability:confirmed-commit:1.1",
    "urn:ietf:params:netconf:capability:validate:1.0",
    "urn:ietf:params:netconf:capability:validate:1.1",
    "urn:ietf:params:netconf:capability:url:1.0?scheme=http,ftp,file",
    "urn:ietf:params:netconf:capability:rollback-on-error:1.0",
    "urn:ietf:params:netconf:capability:xpath:1.0",
    "urn:ietf:params:xml:ns:netconf:base:1.0",
    "urn:ietf:params:xml:ns:netconf:capability:candidate:1.0",
    "urn:ietf:params:xml:ns:netconf:capability:confirmed-commit:1.0",
    "urn:ietf:params:xml:ns:netconf:capability:validate:1.0",
    "urn:ietf:params:xml:ns:netconf:capability:url:1.0?scheme=http,ftp,file",
    "urn:ietf:params:xml:ns:netconf:capability:rollback-on-error:1.0",
    "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring",
)
JUNOS_URIS = (
    "http://xml.juniper.net/netconf/junos/1.0",
    "http://xml.juniper.net/dmi/system/1.0",
)


def yang_modules() -> list[Any]:
    """The YANG modules of ``yang/`` (name, revision, namespace, prefix, text), empty if unavailable."""
    try:
        from netconf_device.schema import get_schema
    except ImportError:
        return []
    try:
        return list(get_schema().modules)
    except Exception:
        log.exception("could not load the YANG modules for the hello")
        return []


def module_capability(module: Any) -> str:
    uri = f"{module.namespace}?module={quote(module.name)}"
    if getattr(module, "revision", None):
        uri += f"&revision={module.revision}"
    return uri


def server_capabilities(device: Any) -> list[str]:
    caps = list(JUNOS_CAPABILITIES)
    caps.extend(module_capability(m) for m in yang_modules())
    caps.extend(JUNOS_URIS)
    return caps
