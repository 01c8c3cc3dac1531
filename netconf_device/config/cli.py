"""``netconf-device config check|show|convert FILE...``: the configuration engine offline, for CI pipelines.

* ``check``   parse, validate (YANG + Junos rules) and compile each file as ``commit check`` would; print
              Junos' errors (exit 1) or ``configuration check succeeds`` (exit 0).
* ``show``    print the configuration (default: curly-brace text, as ``show configuration``).
* ``convert`` print the configuration in ``--format`` (xml | text | set | json).

The input format is taken from ``--input-format``, else from the file name (``.set``, ``.xml``, ``.json``,
``.conf``/``.txt``/``.cfg``), else from the content. With several files each result line names its file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from netconf_device.config.errors import DatastoreError, Problem

FORMATS = ("xml", "text", "set", "json")
_EXTENSIONS = {".set": "set", ".xml": "xml", ".json": "json", ".conf": "text", ".txt": "text", ".cfg": "text"}
SUCCESS = "configuration check succeeds"


def register(subparsers: argparse._SubParsersAction) -> None:
    config = subparsers.add_parser(
        "config", help="check, show or convert Junos configuration files offline",
        description="Check, show or convert Junos configuration files (xml, curly-brace text, set commands or "
                    "JSON) offline, with the device's own YANG schema and commit checks.")
    actions = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    for name, help_text, default_format in (
        ("check", "validate files like 'commit check' (exit 1 on errors)", None),
        ("show", "print files as configuration text (or --format)", "text"),
        ("convert", "print files in another format (--format)", "set"),
    ):
        parser = actions.add_parser(name, help=help_text)
        parser.add_argument("files", nargs="+", metavar="FILE", type=Path, help="configuration file(s)")
        parser.add_argument("--input-format", choices=FORMATS, help="format of the input (default: detected)")
        if default_format is not None:
            parser.add_argument("--format", choices=FORMATS, default=default_format,
                                help=f"output format (default: {default_format})")
        parser.set_defaults(func=_run, config_command=name)


def detect_format(path: Path, data: str) -> str:
    by_name = _EXTENSIONS.get(path.suffix.lower())
    if by_name:
        return by_name
    stripped = data.lstrip()
    if stripped.startswith("<"):
        return "xml"
    if stripped.startswith("{") and '"configuration"' in stripped[:200]:
        return "json"
    for line in stripped.splitlines():
        word = line.strip().split(" ", 1)[0]
        if word and not word.startswith("#"):
            return "set" if word in ("set", "delete", "activate", "deactivate", "insert", "rename") else "text"
    return "text"


def _problem_text(problem: Problem, file_name: str) -> str:
    if problem.line is not None:  # a load (syntax) error: "file:3:(8) syntax error: token", like Junos
        text = f"{file_name}:{problem.line}:({problem.column or 1}) {problem.message}"
        return text + (f": {problem.statement}" if problem.statement else "")
    if not problem.edit_path:
        return ("warning: " if problem.severity == "warning" else "error: ") + problem.message
    return problem.cli_text()


def _run(args: argparse.Namespace) -> int:
    from netconf_device.schema import LoadError, get_schema

    schema = get_schema()
    status = 0
    many = len(args.files) > 1
    for path in args.files:
        label = str(path)
        try:
            data = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            print(f"error: {label}: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
            status = 1
            continue
        fmt = args.input_format or detect_format(path, data)
        try:
            tree = schema.parse(data, fmt)
        except LoadError as exc:
            _print_problems(label if many else None, exc.errors, label)
            print("error: configuration load failed" + (f" ({label})" if many else ""))
            status = 1
            continue
        if args.config_command != "check":
            sys.stdout.write(_ensure_newline(schema.render(tree, args.format)))
            continue
        problems = check_tree(tree, base_dir=path.parent)
        errors = [p for p in problems if p.severity != "warning"]
        _print_problems(label if many and problems else None, problems, label)
        if errors:
            print("error: configuration check-out failed" + (f" ({label})" if many else ""))
            status = 1
        else:
            print(f"{label}: {SUCCESS}" if many else SUCCESS)
    return status


def check_tree(tree, base_dir: Path | None = None) -> list[Problem]:
    """Every problem ``commit check`` would report for ``tree`` (validation, then compilation)."""
    from netconf_device.config.compile import compile_intent
    from netconf_device.schema import get_schema, secret

    problems = list(get_schema().validate(tree))
    if any(p.severity != "warning" for p in problems):
        return problems
    try:
        compile_intent(tree, decode_secret=secret.decode9, base_dir=base_dir)
    except DatastoreError as exc:
        problems.extend(exc.problems)
    return problems


def _print_problems(header: str | None, problems, file_name: str) -> None:
    if header:
        print(f"{header}:")
    for problem in problems:
        print(_problem_text(problem, file_name))


def _ensure_newline(text: str) -> str:
    return text if text.endswith("\n") or not text else text + "\n"
