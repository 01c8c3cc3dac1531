"""Configuration errors in the shape of Junos' load and commit errors."""

from __future__ import annotations

from dataclasses import dataclass, field

# Namespace of Junos attributes and annotations (<junos:comment>) in configuration XML.
JUNOS_NS = "http://xml.juniper.net/junos/*/junos"


def _quote_token(token: str) -> str:
    # Local copy of the quoting rule, so errors stay importable without the formats.
    from netconf_device.schema.tokens import quote

    return quote(token)


@dataclass(frozen=True)
class ConfigError:
    """One load or commit error (or warning), with what Junos puts in an ``<rpc-error>``."""

    message: str
    edit_path: tuple[str, ...] = ()  # ("security", "ike", "gateway", "ike_gw") -> "[edit security ike gateway ike_gw]"
    statement: str | None = None  # bad-element: "ike-policy ike_policy", "unit 2", "system1"
    severity: str = "error"  # "error" | "warning"
    error_type: str = "application"  # NETCONF error-type: "protocol" | "application"
    error_tag: str = "invalid-value"  # NETCONF error-tag
    data_path: str | None = None  # "/configuration/security/ike/gateway[name='ike_gw']/ike-policy"
    line: int | None = None  # 1-based line of the offending input (load errors)
    column: int | None = None  # 1-based column of the offending token (load errors)
    rule: str | None = None  # name of the rule or YANG statement that raised it (for tests and logs)

    @property
    def error_path(self) -> str:
        """Junos' ``error-path``: ``[edit security ike gateway ike_gw]``."""
        return "[edit" + "".join(" " + _quote_token(t) for t in self.edit_path) + "]"

    def cli_text(self) -> str:
        """The error as the Junos CLI prints it on commit or load."""
        lines = []
        if self.line is not None:
            where = f"terminal:{self.line}:({self.column or 1})"
            lines.append(f"{where} {self.message}" + (f": {self.statement}" if self.statement else ""))
            return "\n".join(lines)
        lines.append(self.error_path)
        indent = "  "
        if self.statement:
            lines.append(f"  '{self.statement}'")
            indent = "    "
        prefix = "warning: " if self.severity == "warning" else ""
        lines.append(indent + prefix + self.message)
        return "\n".join(lines)


@dataclass
class LoadError(Exception):
    """A load was refused; nothing was applied. ``errors`` holds every error found."""

    errors: list[ConfigError] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return "; ".join(e.message + (f" ({e.statement})" if e.statement else "") for e in self.errors)
