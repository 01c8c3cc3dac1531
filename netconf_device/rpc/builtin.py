"""Everything the device answers out of the box, added to a registry in one call."""

from __future__ import annotations

from netconf_device.rpc.registry import RpcRegistry


def register_all(registry: RpcRegistry) -> None:
    from netconf_device.netconf import ops
    from netconf_device.rpc import command, config_ops, interfaces, system_info, system_ops, text_forms

    for module in (ops, config_ops, command, system_info, system_ops, interfaces, text_forms):
        registry.add_module(module)
