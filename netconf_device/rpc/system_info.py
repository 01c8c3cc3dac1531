"""What clients ask when they connect, answered as an MX304 does.

show version, show chassis hardware / routing-engine, file show/list, system memory/storage/uptime, and
the errors a real MX gives for the virtual-chassis, cluster, satellite and EX-switching RPCs (PyEZ facts
treat those errors as "not a VC / not a cluster"). Element names follow junos-xml.md §1.12-§1.15.
"""

from __future__ import annotations

import time

from lxml import etree

from netconf_device.netconf.errors import RpcError, unknown_rpc
from netconf_device.netconf.xmlsafe import child_text
from netconf_device.rpc.context import RpcContext
from netconf_device.rpc.registry import rpc
from netconf_device.rpc.xmlbuild import area_top, el, junos_attr, sub, uptime_text
from netconf_device.show.mx304 import PIC_SLOTS, PIC_TYPE

# Packages of a Junos 24.4 MX install that matter to tools (PyEZ takes the version from junos-version).
_PACKAGES = (
    ("os-kernel", "JUNOS OS Kernel 64-bit  [20241120.f7a9e6c_builder_stable_13]"),
    ("os-libs", "JUNOS OS libs [20241120.f7a9e6c_builder_stable_13]"),
    ("os-runtime", "JUNOS OS runtime [20241120.f7a9e6c_builder_stable_13]"),
    ("junos-runtime", "JUNOS Packet Forwarding Engine Support (MX/EX92XX Common) [{v}]"),
    ("junos-platform", "JUNOS mx Platform Support [{v}]"),
    ("junos-modules", "JUNOS Kernel Software Suite [{v}]"),
    ("junos-libs", "JUNOS libs [{v}]"),
    ("junos-daemons", "JUNOS mx Daemons [{v}]"),
    ("junos-ike", "JUNOS ike [{v}]"),
    ("jservices-ipsec", "JUNOS Services IPSec [{v}]"),
    ("jservices-crypto-base", "JUNOS Services Crypto [{v}]"),
    ("jsd-jet-1", "JUNOS Juniper Extension Toolkit [{v}]"),
)


def software_information(ctx: RpcContext) -> etree._Element:
    ident = ctx.device.identity
    info = el("software-information")
    sub(info, "host-name", ctx.device.hostname)
    sub(info, "product-model", ident.model.lower())
    sub(info, "product-name", ident.model.lower())
    sub(info, "junos-version", ident.version)
    sub(info, "yocto-version", "3.0.2")
    sub(info, "kernel-version", "5.2.60-yocto-standard-g2a3f4e1")
    for name, comment in _PACKAGES:
        pkg = sub(info, "package-information")
        sub(pkg, "name", name)
        sub(pkg, "comment", comment.format(v=ident.version))
    return info


@rpc("get-software-information")
def get_software_information(ctx: RpcContext, req: etree._Element) -> etree._Element:
    """show version"""
    if child_text(req, "invoke-on") == "all-routing-engines" or req.find("all-routing-engines") is not None:
        return multi_re(software_information(ctx))
    return software_information(ctx)


def multi_re(payload: etree._Element) -> etree._Element:
    """``invoke-on all-routing-engines``: the single RE's answer wrapped as Junos does."""
    results = el("multi-routing-engine-results")
    item = sub(results, "multi-routing-engine-item")
    sub(item, "re-name", "re0")
    item.append(payload)
    return results


@rpc("get-chassis-inventory")
def get_chassis_inventory(ctx: RpcContext, req: etree._Element) -> etree._Element:
    """show chassis hardware"""
    ident = ctx.device.identity
    serial = ident.serial_number
    inv = area_top("chassis-inventory", "chassis", ctx.device.junos_ns)
    chassis = sub(inv, "chassis", attrib={junos_attr(ctx.device.junos_ns, "style"): "inventory"})
    sub(chassis, "name", "Chassis")
    sub(chassis, "serial-number", serial)
    sub(chassis, "description", ident.model)
    modules = (
        ("Midplane", "REV 12", "750-110925", serial[-6:] + "MP", f"{ident.model} Midplane", "JNP304-CHAS"),
        ("PEM 0", "REV 03", "740-069993", serial[-6:] + "P0", "AC/HVDC Power Supply", "JNP-PWR2200-AC"),
        ("PEM 1", "REV 03", "740-069993", serial[-6:] + "P1", "AC/HVDC Power Supply", "JNP-PWR2200-AC"),
        ("Routing Engine 0", "REV 05", "750-122112", serial[-6:] + "R0", ident.re_model, "JNP304-RE-S"),
        ("CB 0", "REV 07", "750-118770", serial[-6:] + "C0", "Control Board", "JNP304-CB"),
    )
    for name, version, part, sn, desc, model in modules:
        mod = sub(chassis, "chassis-module")
        sub(mod, "name", name)
        sub(mod, "version", version)
        sub(mod, "part-number", part)
        sub(mod, "serial-number", sn)
        sub(mod, "description", desc)
        sub(mod, "model-number", model)
    fpc = sub(chassis, "chassis-module")
    sub(fpc, "name", "FPC 0")
    sub(fpc, "version", "REV 10")
    sub(fpc, "part-number", "750-118772")
    sub(fpc, "serial-number", serial[-6:] + "F0")
    sub(fpc, "description", f"{ident.model} FPC")
    sub(fpc, "model-number", "JNP304-FPC")
    cpu = sub(fpc, "chassis-sub-module")
    sub(cpu, "name", "CPU")
    sub(cpu, "description", "FPC PMB")
    for pic in PIC_SLOTS:
        p = sub(fpc, "chassis-sub-module")
        sub(p, "name", f"PIC {pic}")
        sub(p, "part-number", "BUILTIN")
        sub(p, "serial-number", "BUILTIN")
        sub(p, "description", PIC_TYPE)
    fan = sub(chassis, "chassis-module")
    sub(fan, "name", "Fan Tray 0")
    sub(fan, "description", "Fan Tray, Front to Back Airflow - AFO")
    sub(fan, "model-number", "JNP304-FAN-AFO")
    return inv


@rpc("get-route-engine-information")
def get_route_engine_information(ctx: RpcContext, req: etree._Element) -> etree._Element:
    """show chassis routing-engine"""
    ns = ctx.device.junos_ns
    ident = ctx.device.identity
    now = time.time()
    up = int(now - ident.boot_time)
    info = area_top("route-engine-information", "chassis", ns)
    re0 = sub(info, "route-engine")
    sub(re0, "slot", 0)
    sub(re0, "mastership-state", "master")
    sub(re0, "mastership-priority", "Master (default)")
    sub(re0, "status", "OK")
    sub(re0, "memory-dram-size", "65536 MB")
    sub(re0, "memory-installed-size", "(65536 MB installed)")
    sub(re0, "memory-buffer-utilization", 12)
    sub(re0, "cpu-user", 1)
    sub(re0, "cpu-background", 0)
    sub(re0, "cpu-system", 2)
    sub(re0, "cpu-interrupt", 0)
    sub(re0, "cpu-idle", 97)
    sub(re0, "model", ident.re_model)
    sub(re0, "serial-number", ident.serial_number[-6:] + "R0")
    sub(re0, "start-time", time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ident.boot_time)),
        {junos_attr(ns, "seconds"): str(int(ident.boot_time))})
    sub(re0, "up-time", uptime_text(up), {junos_attr(ns, "seconds"): str(up)})
    sub(re0, "last-reboot-reason", "Router rebooted after a normal shutdown.")
    sub(re0, "load-average-one", "0.08")
    sub(re0, "load-average-five", "0.05")
    sub(re0, "load-average-fifteen", "0.01")
    return info


HOSTS_JUNOS = """#
# Copyright (c) 2024, Juniper Networks, Inc.
# All rights reserved.
#
# Internal addresses of the router's components (tnp, em/bme links).
#
128.0.0.1      master
128.0.0.4      re0
128.0.0.5      re1
128.0.0.6      backup
128.0.0.16     fpc0
128.0.0.17     fpc1
128.0.0.32     pic0
128.0.0.48     scb0
128.0.0.63     bcast
"""


@rpc("file-show")
def file_show(ctx: RpcContext, req: etree._Element) -> etree._Element:
    """file show"""
    name = child_text(req, "filename") or ""
    if name == "/etc/hosts.junos":
        content = el("file-content", "\n" + HOSTS_JUNOS, {"filename": name})
        return content
    # Anything else (e.g. PyEZ's /usr/share/cevo/cevo_version probe: MX is not Junos Evolved) is absent.
    raise RpcError(f"could not resolve file: {name}", bad_element=name)


@rpc("file-list")
def file_list(ctx: RpcContext, req: etree._Element) -> etree._Element:
    """file list"""
    path = child_text(req, "path") or "~"
    home = f"/var/home/{ctx.user}/"
    root = home if path in ("~", "~/", "") else path.rstrip("/") + "/"
    listing = el("directory-list", attrib={"root-path": root})
    directory = sub(listing, "directory", attrib={"name": root})
    sub(directory, "total-files", 0)
    return listing


@rpc("get-system-memory-information")
def get_system_memory_information(ctx: RpcContext, req: etree._Element) -> etree._Element:
    """show system memory"""
    info = el("system-memory-information")
    summary = sub(info, "system-memory-summary-information")
    total, free = 65536, 51200  # MB, as Ansible's junos_facts reads them
    sub(summary, "system-memory-total", total)
    sub(summary, "system-memory-reserved", 2048)
    sub(summary, "system-memory-wired", 4096)
    sub(summary, "system-memory-active", 6144)
    sub(summary, "system-memory-inactive", 2048)
    sub(summary, "system-memory-cache", 0)
    sub(summary, "system-memory-free", free)
    sub(summary, "system-memory-total-percent", "100%")
    sub(summary, "system-memory-free-percent", f"{free * 100 // total}%")
    return info


_FILESYSTEMS = (
    ("/dev/sda2", 14_680_064, 3_145_728, "/"),
    ("/dev/sda3", 62_914_560, 6_291_456, "/var"),
    ("tmpfs", 16_777_216, 65_536, "/tmp"),
    ("/dev/sda4", 20_971_520, 1_048_576, "/var/log"),
)


@rpc("get-system-storage")
def get_system_storage(ctx: RpcContext, req: etree._Element) -> etree._Element:
    """show system storage"""
    ns = ctx.device.junos_ns
    info = el("system-storage-information")
    for name, total_kb, used_kb, mount in _FILESYSTEMS:
        fs = sub(info, "filesystem")
        sub(fs, "filesystem-name", name)
        sub(fs, "total-blocks", total_kb * 2, {junos_attr(ns, "format"): f"{total_kb // 1048576}G"})
        sub(fs, "used-blocks", used_kb * 2, {junos_attr(ns, "format"): f"{used_kb // 1024}M"})
        avail = total_kb - used_kb
        sub(fs, "available-blocks", avail * 2, {junos_attr(ns, "format"): f"{avail // 1048576}G"})
        sub(fs, "used-percent", f"{used_kb * 100 // total_kb:>2}")
        sub(fs, "mounted-on", mount)
    return info


@rpc("get-system-uptime-information")
def get_system_uptime_information(ctx: RpcContext, req: etree._Element) -> etree._Element:
    """show system uptime"""
    ns = ctx.device.junos_ns
    now = time.time()
    boot = ctx.device.identity.boot_time
    info = el("system-uptime-information")

    def stamp(parent: etree._Element, tag: str, t: float) -> None:
        node = sub(parent, tag)
        sub(node, "date-time", time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t)),
            {junos_attr(ns, "seconds"): str(int(t))})
        if tag != "current-time":
            sub(node, "time-length", uptime_text(int(now - t)), {junos_attr(ns, "seconds"): str(int(now - t))})

    stamp(info, "current-time", now)
    stamp(info, "system-booted-time", boot)
    stamp(info, "protocols-started-time", boot + 60)
    return info


@rpc("get-system-information")
def get_system_information(ctx: RpcContext, req: etree._Element) -> etree._Element:
    """show system information"""
    ident = ctx.device.identity
    info = el("system-information")
    sub(info, "hardware-model", ident.model.lower())
    sub(info, "os-name", "junos")
    sub(info, "os-version", ident.version)
    sub(info, "serial-number", ident.serial_number)
    sub(info, "host-name", ctx.device.hostname)
    return info


@rpc("get-alarm-information")
@rpc("get-system-alarm-information")
def get_alarm_information(ctx: RpcContext, req: etree._Element) -> etree._Element:
    """show chassis alarms, show system alarms: none active (both answer the same alarm-information)"""
    info = el("alarm-information")
    summary = sub(info, "alarm-summary")
    sub(summary, "no-active-alarms")
    return info


@rpc("get-bridge-mac-table")
def get_bridge_mac_table(ctx: RpcContext, req: etree._Element) -> etree._Element:
    """show bridge mac-table (count): an MX bridges with bridge domains (PyEZ switch_style BRIDGE_DOMAIN)"""
    if req.find("count") is not None:
        return el("l2ald-rtb-mac-count")
    return el("l2ald-rtb-macdb")


# ------------------------------------------------------------------------- what an MX does not have
@rpc("get-virtual-chassis-information")
def get_virtual_chassis_information(ctx: RpcContext, req: etree._Element) -> etree._Element:
    """show virtual-chassis"""
    raise RpcError("Virtual Chassis not supported", bad_element="virtual-chassis", daemon="vccpd")


@rpc("get-chassis-cluster-status")
def get_chassis_cluster_status(ctx: RpcContext, req: etree._Element) -> etree._Element:
    """show chassis cluster status: chassis clusters are an SRX feature; MX has no such command"""
    raise unknown_rpc("get-chassis-cluster-status")


@rpc("get-jnu-satellites-information")
def get_jnu_satellites_information(ctx: RpcContext, req: etree._Element) -> etree._Element:
    """show chassis satellite: no Junos Node Unifier / Fusion satellites configured"""
    raise RpcError("Junos Fusion is not configured", bad_element="satellite")


@rpc("get-ethernet-switching-table-information")
def get_ethernet_switching_table_information(ctx: RpcContext, req: etree._Element) -> etree._Element:
    """show ethernet-switching table: EX/QFX only; an MX answers with a syntax error"""
    raise unknown_rpc("get-ethernet-switching-table-information")


@rpc("request-shell-execute", permission="shell")
def request_shell_execute(ctx: RpcContext, req: etree._Element) -> etree._Element:
    """request shell execute: only the probe PyEZ uses (is this a VM host?) is answered"""
    command = (child_text(req, "command") or "").strip()
    if command == "sysctl -n hw.re.vmhost_mode":
        return el("output", "0\n")
    raise RpcError(f"shell command not available on this device: {command}", bad_element="command")
