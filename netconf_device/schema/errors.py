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


# A load reports every bad statement, up to this many errors (a 64 MB input of bad lines must not become a
# reply of millions of <rpc-error>s); then reading stops with one more error saying so.
MAX_LOAD_ERRORS = 1000


def syntax_error(message: str, statement: str | None, *, line: int | None = None, column: int | None = None,
                 edit_path: tuple[str, ...] = ()) -> ConfigError:
    """A load syntax error as Junos reports it over NETCONF: ``error-type`` protocol, ``error-tag``
    operation-failed (junos-xml.md 4.5, the vSRX ``load set`` capture), ``bad-element`` the token."""
    return ConfigError(message=message, statement=statement, line=line, column=column, edit_path=edit_path,
                       error_type="protocol", error_tag="operation-failed")


def too_many_errors(line: int | None) -> ConfigError:
    return syntax_error(f"too many errors ({MAX_LOAD_ERRORS}): the rest of the input was not read", None,
                        line=line)


def in_input_order(errors: list[ConfigError]) -> list[ConfigError]:
    """Load errors sorted by their place in the input, at most ``MAX_LOAD_ERRORS`` of them (then one saying
    that there were more)."""
    ordered = sorted(errors, key=lambda e: (e.line or 0, e.column or 0))
    if len(ordered) <= MAX_LOAD_ERRORS + 1 and not any(e.message.startswith("too many errors") for e in ordered):
        return ordered
    kept = [e for e in ordered if not e.message.startswith("too many errors")][:MAX_LOAD_ERRORS]
    return [*kept, too_many_errors(kept[-1].line if kept else None)]


@dataclass
class LoadError(Exception):
    """A load was refused; nothing was applied. ``errors`` holds every error found."""

    errors: list[ConfigError] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return "; ".join(e.message + (f" ({e.statement})" if e.statement else "") for e in self.errors)
