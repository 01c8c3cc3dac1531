"""A load reports every bad statement, like Junos: text loads read on after a syntax error (error recovery up
to the end of the failed statement), set loads run every line, and each error has its line, column and the
error-type/tag Junos gives load syntax errors (protocol / operation-failed, junos-xml.md 4.5)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netconf_device.schema import LoadError
from netconf_device.schema.errors import MAX_LOAD_ERRORS


def _errors(schema, data: str, fmt: str) -> list:
    base = schema.empty()
    with pytest.raises(LoadError) as info:
        schema.load(base, data, fmt, "set" if fmt == "set" else "merge")
    assert not len(base), "a refused load changed its input"
    return info.value.errors


def _brief(errors) -> list[tuple]:
    return [(e.line, e.column, e.message, e.statement) for e in errors]


def test_text_reads_on_after_each_kind_of_syntax_error(schema):
    text = ("system {\n"                          # 1
            "    host-name r1;\n"                 # 2
            "    nonsense;\n"                     # 3  unknown statement: no recovery message (nothing skipped)
            "    domain-name { a; }\n"            # 4  a block where the value belongs: the block is skipped
            "    login {\n"                       # 5
            "        user u { class super-user; uid 2001 }\n"  # 6  no ';' before '}': the '}' ends `user u`
            "    }\n"                             # 7
            "}\n"                                 # 8
            "}\n"                                 # 9  one '}' too many
            "interfaces { lo0 { description ok; } }\n")  # 10 read, fine
    errors = _errors(schema, text, "text")
    assert _brief(errors) == [
        (3, 5, "syntax error", "nonsense"),
        (4, 5, "missing argument", "domain-name"),
        (4, 22, "error recovery ignores input until this point", "}"),
        (6, 45, "syntax error", "}"),
        (9, 1, "syntax error", "}"),
    ]
    assert {(e.error_type, e.error_tag) for e in errors} == {("protocol", "operation-failed")}
    assert [e.error_path for e in errors[:3]] == ["[edit system]"] * 3
    assert errors[3].error_path == "[edit system login user u]"


def test_a_good_text_load_is_unchanged_by_the_recovery(schema):
    tree = schema.load(schema.empty(), "system { host-name r1; login { user u { class super-user; } } }",
                       "text", "merge").tree
    assert tree.findtext("system/login/user/class") == "super-user"


def test_set_runs_every_line_even_after_an_unreadable_one(schema):
    lines = ("set system host-name r1\n"
             'set system domain-name "open\n'
             "set system bogus x\n"
             "/* unterminated\n"
             "sett system host-name r2\n"
             "set system host-name r3\n")
    errors = _errors(schema, lines, "set")
    assert [(e.line, e.message) for e in errors] == [
        (2, "missing closing quote"),
        (3, "syntax error"),
        (4, "unterminated comment"),
        (5, "unknown command"),
    ]
    assert {(e.error_type, e.error_tag) for e in errors} == {("protocol", "operation-failed")}


@pytest.mark.parametrize("fmt,bad", [("set", "set system bogus {n}\n"),
                                      ("text", "system {{ bogus {n}; }}\n")])
def test_errors_are_bounded(schema, fmt, bad):
    errors = _errors(schema, "".join(bad.format(n=n) for n in range(3 * MAX_LOAD_ERRORS)), fmt)
    assert MAX_LOAD_ERRORS <= len(errors) <= MAX_LOAD_ERRORS + 1
    assert errors[-1].message.startswith(f"too many errors ({MAX_LOAD_ERRORS})")


_WORDS = st.sampled_from(["system", "host-name", "r1", "{", "}", ";", "interfaces", "lo0", "unit", "0",
                          "description", '"x y"', "login", "user", "bogus", "inactive:", "delete:", "/* c */"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_WORDS, max_size=40))
def test_any_token_soup_ends_with_a_result_or_errors_in_order(schema, words):
    """Recovery always moves forward: every input ends, and errors come in input order."""
    try:
        schema.load(schema.empty(), " ".join(words), "text", "merge")
    except LoadError as exc:
        assert exc.errors
        positions = [(e.line or 0, e.column or 0) for e in exc.errors]
        assert positions == sorted(positions)
