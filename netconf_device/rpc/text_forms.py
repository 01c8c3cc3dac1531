"""CLI text of the built-in operational replies (the XML is the source; see render.py).

Layouts follow the Junos CLI (junos-xml.md §1.10-§1.14). Integrations add renderers for their replies with
``@text_renderer("ike-security-associations-information")`` in a module added to the registry.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable

from lxml import etree

from netconf_device.rpc.render import generic_text, text_renderer


def _t(element: etree._Element, path: str) -> str:
    return (element.findtext(path) or "").strip()


def _local_names(render: Callable[[etree._Element], str]) -> Callable[[etree._Element], str]:
    """Let ``render`` find children by plain names in a reply that has a namespace of its own
    (``<interface-information xmlns=".../junos-interface">``): it reads a copy without namespaces."""

    @functools.wraps(render)
    def wrapper(element: etree._Element) -> str:
        if isinstance(element.tag, str) and element.tag[0] == "{":
            element = copy.deepcopy(element)
            for node in element.iter(etree.Element):
                node.tag = etree.QName(node).localname
            etree.cleanup_namespaces(element)
        return render(element)

    return wrapper


@text_renderer("software-information")
def software_information(info: etree._Element) -> str:
    lines = [
        f"Hostname: {_t(info, 'host-name')}",
        f"Model: {_t(info, 'product-model')}",
        f"Junos: {_t(info, 'junos-version')}",
    ]
    for pkg in info.iterfind("package-information"):
        lines.append(_t(pkg, "comment"))
    return "\n".join(lines) + "\n"


@text_renderer("multi-routing-engine-results")
def multi_routing_engine_results(results: etree._Element) -> str:
    out = []
    for item in results.iterfind("multi-routing-engine-item"):
        out.append(f"{_t(item, 're-name')}:\n" + "-" * 78 + "\n")
        for payload in item:
            name = etree.QName(payload).localname if isinstance(payload.tag, str) else None
            if name is not None and name != "re-name":
                renderer = _RENDERERS.get(name)
                out.append(renderer(payload) if renderer else generic_text(payload))
    return "".join(out)


@text_renderer("interface-information")
@_local_names
def interface_information(info: etree._Element) -> str:
    style = next((v for k, v in info.attrib.items() if k.endswith("style")), "normal")
    if style == "terse":
        return _terse(info)
    out = []
    for phys in info.iterfind("physical-interface"):
        out.append(f"Physical interface: {_t(phys, 'name')}, "
                   f"{'Enabled' if _t(phys, 'admin-status') == 'up' else 'Administratively down'}, "
                   f"Physical link is {_t(phys, 'oper-status').capitalize()}")
        if phys.find("if-type") is not None:
            out.append(f"  Interface index: {_t(phys, 'local-index')}, SNMP ifIndex: {_t(phys, 'snmp-index')}")
            out.append(f"  Link-level type: {_t(phys, 'link-level-type')}, MTU: {_t(phys, 'mtu')}, "
                       f"Speed: {_t(phys, 'speed')}")
            if phys.find("current-physical-address") is not None:
                out.append(f"  Current address: {_t(phys, 'current-physical-address')}, "
                           f"Hardware address: {_t(phys, 'hardware-physical-address')}")
            stats = phys.find("traffic-statistics")
            if stats is not None:
                out.append(f"  Input packets : {_t(stats, 'input-packets')}")
                out.append(f"  Output packets: {_t(stats, 'output-packets')}")
        for ifl in phys.iterfind("logical-interface"):
            out.extend(_logical_lines(ifl))
        out.append("")
    for ifl in info.iterfind("logical-interface"):
        out.extend(_logical_lines(ifl))
    return "\n".join(out) + "\n"


def _logical_lines(ifl: etree._Element) -> list[str]:
    lines = [f"  Logical interface {_t(ifl, 'name')}"]
    stats = ifl.find("traffic-statistics")
    if stats is not None:
        lines.append(f"    Input packets : {_t(stats, 'input-packets')}")
        lines.append(f"    Output packets: {_t(stats, 'output-packets')}")
    for fam in ifl.iterfind("address-family"):
        mtu = _t(fam, "mtu")
        lines.append(f"    Protocol {_t(fam, 'address-family-name')}" + (f", MTU: {mtu}" if mtu else ""))
        for ifa in fam.iterfind("interface-address"):
            dest = _t(ifa, "ifa-destination")
            local = _t(ifa, "ifa-local")
            lines.append(f"      Addresses, Flags: Is-Preferred Is-Primary\n        Destination: {dest or 'Unspecified'}, "
                         f"Local: {local.split('/')[0]}")
    return lines


def _terse_row(name: str, admin: str, link: str, proto: str = "", local: str = "", remote: str = "") -> str:
    return f"{name:<24}{admin:<6}{link:<5}{proto:<9}{local:<22}{remote}".rstrip()


def _terse_logical(ifl: etree._Element) -> list[str]:
    rows = []
    families = list(ifl.iterfind("address-family"))
    name, admin, link = _t(ifl, "name"), _t(ifl, "admin-status"), _t(ifl, "oper-status")
    if not families:
        return [_terse_row(name, admin, link)]
    first = True
    for fam in families:
        addrs = [_t(a, "ifa-local") for a in fam.iterfind("interface-address")] or [""]
        for addr in addrs:
            if first:
                rows.append(_terse_row(name, admin, link, _t(fam, "address-family-name"), addr))
                first = False
            else:
                rows.append(_terse_row("", "", "", "" if not addr or rows and _t(fam, "address-family-name") in rows[-1]
                                       else _t(fam, "address-family-name"), addr))
    return rows


def _terse(info: etree._Element) -> str:
    lines = [_terse_row("Interface", "Admin", "Link", "Proto", "Local", "Remote")]
    for phys in info.iterfind("physical-interface"):
        lines.append(_terse_row(_t(phys, "name"), _t(phys, "admin-status"), _t(phys, "oper-status")))
        for ifl in phys.iterfind("logical-interface"):
            lines.extend(_terse_logical(ifl))
    for ifl in info.iterfind("logical-interface"):
        lines.extend(_terse_logical(ifl))
    return "\n".join(lines) + "\n"


@text_renderer("chassis-inventory")
@_local_names
def chassis_inventory(inv: etree._Element) -> str:
    lines = ["Hardware inventory:",
             f"{'Item':<17}{'Version':<9}{'Part number':<13}{'Serial number':<17}Description"]
    chassis = inv.find("chassis")
    if chassis is not None:
        lines.append(f"{'Chassis':<47}{_t(chassis, 'serial-number'):<17}{_t(chassis, 'description')}")

        def walk(node: etree._Element, depth: int) -> None:
            for tag in ("chassis-module", "chassis-sub-module", "chassis-sub-sub-module"):
                for mod in node.iterfind(tag):
                    name = " " * depth + _t(mod, "name")
                    lines.append(f"{name:<17}{_t(mod, 'version'):<9}{_t(mod, 'part-number'):<13}"
                                 f"{_t(mod, 'serial-number'):<17}{_t(mod, 'description')}")
                    walk(mod, depth + 2)

        walk(chassis, 0)
    return "\n".join(lines) + "\n"


@text_renderer("route-engine-information")
@_local_names
def route_engine_information(info: etree._Element) -> str:
    lines = ["Routing Engine status:"]
    for re in info.iterfind("route-engine"):
        lines += [
            f"  Slot {_t(re, 'slot')}:",
            f"    Current state                  {_t(re, 'mastership-state').capitalize()}",
            f"    Election priority              {_t(re, 'mastership-priority')}",
            f"    DRAM                      {_t(re, 'memory-dram-size')} {_t(re, 'memory-installed-size')}",
            f"    Memory utilization         {_t(re, 'memory-buffer-utilization')} percent",
            "    CPU utilization:",
            f"      User                       {_t(re, 'cpu-user')} percent",
            f"      Background                 {_t(re, 'cpu-background')} percent",
            f"      Kernel                     {_t(re, 'cpu-system')} percent",
            f"      Interrupt                  {_t(re, 'cpu-interrupt')} percent",
            f"      Idle                      {_t(re, 'cpu-idle')} percent",
            f"    Model                          {_t(re, 'model')}",
            f"    Serial ID                      {_t(re, 'serial-number')}",
            f"    Start time                     {_t(re, 'start-time')}",
            f"    Uptime                         {_t(re, 'up-time')}",
            f"    Last reboot reason             {_t(re, 'last-reboot-reason')}",
            "    Load averages:                 1 minute   5 minute  15 minute",
            f"                                       {_t(re, 'load-average-one')}       "
            f"{_t(re, 'load-average-five')}       {_t(re, 'load-average-fifteen')}",
        ]
    return "\n".join(lines) + "\n"


@text_renderer("commit-information")
def commit_information(info: etree._Element) -> str:
    lines = []
    for entry in info.iterfind("commit-history"):
        # Junos: index padded to four columns, its own note ("commit confirmed, rollback in 5mins") on the
        # same line, the user's commit comment on the next one.
        line = f"{_t(entry, 'sequence-number'):<4}{_t(entry, 'date-time')} by {_t(entry, 'user')} via {_t(entry, 'client')}"
        if _t(entry, "comment"):
            line += f" {_t(entry, 'comment')}"
        lines.append(line)
        if _t(entry, "log"):
            lines.append(f"    {_t(entry, 'log')}")
    return "\n".join(lines) + "\n"


@text_renderer("rpc-error")
def rpc_error(error: etree._Element) -> str:
    """A warning next to a reply (request system reboot with uncommitted changes), as the CLI prints it."""
    severity = (error.findtext("{*}error-severity") or "error").strip()
    return f"{severity}: {(error.findtext('{*}error-message') or '').strip()}\n"


@text_renderer("file-content")
def file_content(content: etree._Element) -> str:
    return (content.text or "").lstrip("\n")


_RENDERERS = {
    "software-information": software_information,
    "interface-information": interface_information,
    "chassis-inventory": chassis_inventory,
    "route-engine-information": route_engine_information,
}
