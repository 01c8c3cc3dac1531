"""Bad input never crashes the schema: a damaged configuration in any format is refused with LoadError, or
accepted as a configuration that still converts through every format without loss."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schema_testlib import SEED_FILES, seed_text

from netconf_device.schema import LoadError, get_schema

FORMATS = ("xml", "text", "set", "json")
PIECES = list('{};[]"\\#/* \n\tab0.-:@$<>=&') + [
    "inactive: ", "replace: ", "delete: ", "/* note */", "set ", "delete ", "[null]", '"@"', "</", "&amp;",
]


def _documents():
    schema = get_schema()
    tree = schema.parse(seed_text(SEED_FILES[0]), "set")
    return {fmt: schema.render(tree, fmt) for fmt in FORMATS}


DOCUMENTS = _documents()


@st.composite
def damaged(draw):
    fmt = draw(st.sampled_from(FORMATS))
    text = DOCUMENTS[fmt]
    for _ in range(draw(st.integers(1, 5))):
        pos = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:pos] + draw(st.sampled_from(PIECES)) + text[pos:]
        else:
            text = text[:pos] + text[pos + draw(st.integers(1, 20)):]
    return fmt, text


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(damaged())
def test_damaged_input_is_refused_or_round_trips(schema, case):
    fmt, text = case
    try:
        tree = schema.parse(text, fmt)
    except LoadError as exc:
        assert exc.errors and all(e.message for e in exc.errors)
        return
    schema.validate(tree)
    for out in ("xml", "text", "json"):
        assert schema.compare(tree, schema.parse(schema.render(tree, out), out)) == ""
