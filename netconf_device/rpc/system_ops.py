"""``request system reboot | halt | power-off`` (PyEZ ``SW(dev).reboot()`` / ``halt()`` / ``poweroff()``).

The answer is what an MX sends -- ``<request-reboot-results><request-reboot-status reboot-time="EPOCH">`` with
``Shutdown NOW!`` or ``Shutdown at <time>.`` and the process id (PyEZ returns that text; captures in the public
go ``netconf`` package and ncclient examples), after the warning ``The configuration has been changed but not
committed`` when the candidate holds changes -- and then the device goes down for real
(:meth:`~netconf_device.device.Device.schedule_shutdown`). ``in N`` delays by N minutes; ``at`` takes ``now``
and ``+N`` (minutes), other dates are refused with a clear error.
"""

from __future__ import annotations

import os
import time

from lxml import etree

from netconf_device.netconf.errors import RpcError
from netconf_device.netconf.xmlsafe import child, child_text
from netconf_device.rpc.context import RpcContext
from netconf_device.rpc.registry import Reply, rpc
from netconf_device.rpc.render import text_renderer
from netconf_device.rpc.xmlbuild import el, sub

MAX_DELAY_MINUTES = 7 * 24 * 60  # a week: a longer `in` is refused rather than left waiting for ever


def _delay_minutes(req: etree._Element) -> int:
    """Minutes until the shutdown from ``<in>`` or ``<at>`` (``now``, ``+N``)."""
    delay = child_text(req, "in")
    at = child_text(req, "at")
    if at is not None:
        if delay is not None:
            raise RpcError("syntax error: 'in' and 'at' exclude each other", bad_element="at")
        word = at.strip()
        if word == "now":
            delay = "0"
        elif word.startswith("+"):
            delay = word[1:]
        else:
            raise RpcError(f"a shutdown at a date or time ({word}) is not supported on this device; "
                           "use 'in MINUTES' or 'at +MINUTES'", tag="operation-not-supported", bad_element="at")
    if delay is None or delay.strip() == "":
        return 0
    if not delay.strip().isdigit() or int(delay) > MAX_DELAY_MINUTES:
        raise RpcError(f"invalid delay: {delay.strip()} (minutes, 0..{MAX_DELAY_MINUTES})", tag="invalid-value",
                       error_type="application", bad_element="in" if at is None else "at")
    return int(delay)


def _shutdown(ctx: RpcContext, req: etree._Element, kind: str) -> Reply:
    if child(req, "other-routing-engine") is not None:
        raise RpcError("there is no other routing engine on this device", bad_element="other-routing-engine")
    for many in ("all-members", "member", "device-list"):
        if child(req, many) is not None:
            raise RpcError(f"{many}: this device is not a virtual chassis or satellite system", bad_element=many)
    minutes = _delay_minutes(req)
    now = time.time()
    pending = ctx.device.schedule_shutdown(kind, now + minutes * 60, user=ctx.user)
    when = "NOW!" if minutes == 0 else f"at {time.asctime(time.gmtime(pending.at))}."
    results = el("request-reboot-results")
    sub(results, "request-reboot-status", f"Shutdown {when}\n[pid {os.getpid()}]",
        {"reboot-time": str(int(pending.at))})
    elements = [results]
    ds = ctx.device.datastore
    if ds is not None and ds.is_modified(ctx.session_id):
        warning = RpcError("The configuration has been changed but not committed", severity="warning")
        elements.insert(0, warning.to_element())
    return Reply(elements)


@rpc("request-reboot", permission="maintenance")
def request_reboot(ctx: RpcContext, req: etree._Element) -> Reply:
    """request system reboot [in MINUTES]"""
    return _shutdown(ctx, req, "reboot")


@rpc("request-halt", permission="maintenance")
def request_halt(ctx: RpcContext, req: etree._Element) -> Reply:
    """request system halt [in MINUTES]"""
    return _shutdown(ctx, req, "halt")


@rpc("request-power-off", permission="maintenance")
def request_power_off(ctx: RpcContext, req: etree._Element) -> Reply:
    """request system power-off [in MINUTES] (the emulated box halts)"""
    return _shutdown(ctx, req, "halt")


@text_renderer("request-reboot-results")
def request_reboot_results(results: etree._Element) -> str:
    return "".join((status.text or "") + "\n" for status in results.iter("{*}request-reboot-status"))
