"""Exceptions of the configuration datastore.

Every exception carries ``problems``: a tuple of ``netconf_device.schema.ConfigError`` (one Junos-shaped
error or warning each: ``message``, ``error_path`` "[edit ...]", ``statement`` (bad-element), ``severity``,
``error_type``/``error_tag``, ``cli_text()``), the same shape the schema uses for load and validation
errors. So the NETCONF layer turns each problem into one ``<rpc-error>`` and the CLI prints ``cli_text()``,
whatever part of the engine found it. Junos reports all errors of one commit, not only the first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from netconf_device.schema.errors import ConfigError as Problem

__all__ = ["CommitError", "ConfigLoadError", "DatastoreError", "LockError", "Problem", "StateError", "problem"]


def problem(message: str, *, edit_path: Sequence[str] = (), statement: str | None = None, severity: str = "error",
            error_type: str = "protocol", error_tag: str = "operation-failed") -> Problem:
    return Problem(message=message, edit_path=tuple(edit_path), statement=statement, severity=severity,
                   error_type=error_type, error_tag=error_tag)


class DatastoreError(Exception):
    """A configuration operation failed and changed nothing; ``problems`` lists every error (and warning)."""

    def __init__(self, problems: Iterable[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = (problem(problems),)
        elif isinstance(problems, Problem):
            problems = (problems,)
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("; ".join(p.message for p in self.problems))

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity != "warning")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")

    def cli_text(self) -> str:
        """All problems as the Junos CLI prints them (``error:`` prefix on lines without a path)."""
        lines = []
        for p in self.problems:
            if p.edit_path or p.line is not None:
                lines.append(p.cli_text())
            else:
                lines.append(("warning: " if p.severity == "warning" else "error: ") + p.message)
        return "\n".join(lines)


class ConfigLoadError(DatastoreError):
    """A load was refused (syntax error, unknown statement, bad value): the candidate is unchanged."""


class CommitError(DatastoreError):
    """Validation, compilation or apply failed: nothing was committed.

    Like Junos, ``problems`` ends with ``configuration check-out failed``, so renderers print it as is.
    """


class LockError(DatastoreError):
    """The configuration is locked by another session (``holder`` describes it), or not locked by us."""

    def __init__(self, problems, holder=None):
        super().__init__(problems)
        self.holder = holder


class StateError(DatastoreError):
    """The state directory could not be read or written (corrupt file, disk full, permissions)."""
