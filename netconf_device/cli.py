"""`netconf-device` command line: each area registers its own sub-commands.

Areas live in their own modules (``config`` for the offline configuration tool, ``device`` for
``serve``, ``lab`` for labs); each exposes ``register(subparsers)``, which adds its parsers and sets
``func`` on them. This file only wires them together.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Module that provides each group of sub-commands. A module that does not exist yet is skipped,
# so the CLI works while parts of the product are still being built.
COMMAND_MODULES = (
    "netconf_device.config.cli",
    "netconf_device.device_cli",
    "netconf_device.lab.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netconf-device",
        description="A software Juniper MX router with inline IPsec (NETCONF, IKEv2, ESP).",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
