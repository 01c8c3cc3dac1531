"""The bulk paths of a big load keep their structural promises (counted, never timed):

* plain ``set`` lines take a one-pass fast path; it must give exactly what the general path gives;
* a load copies its base once, not once per line;
* a load into an empty configuration validates it whole, and the commit check of that same document then
  needs no second libyang run; any change to the document is validated again;
* the cyclic garbage collector is paused for a load and a validation and restored afterwards;
* a secret a load encodes is decoded later without running the decoder.
"""

from __future__ import annotations

import copy
import gc

import pytest
from lxml import etree
from schema_testlib import vpn_set_config

from netconf_device.config.generate import vpn_config
from netconf_device.schema import LoadError, secret
from netconf_device.schema.treeops import Workspace
from netconf_device.schema.validate import Validator

# Scripts that exercise what the fast path decides without lxml: new entries and containers, choice cases
# replacing each other inside entries created by the same load, leaf-lists, deletes and re-creates,
# prefix sharing between consecutive lines, secrets, edit/up/top, and errors of every kind.
SCRIPTS = {
    "vpns": vpn_config(30),
    "choices in new entries": (
        "set security ike policy p1 pre-shared-key ascii-text secret-one\n"
        "set security ike policy p1 pre-shared-key hexadecimal 0a0b0c0d\n"
        "set security ike policy p1 mode main\n"
        "set security ike policy p1 pre-shared-key ascii-text secret-two\n"
        "set security ike gateway g1 dead-peer-detection always-send\n"
        "set security ike gateway g1 dead-peer-detection optimized\n"
        "set security ike gateway g1 dead-peer-detection interval 20\n"
    ),
    "leaf-lists, deletes and re-creates": (
        "set security ike policy p1 proposals a\n"
        "set security ike policy p1 proposals b\n"
        "set security ike policy p1 proposals a\n"
        "delete security ike policy p1 proposals a\n"
        "set security ike policy p1 proposals a\n"
        "set routing-options static route 10.0.0.0/8 next-hop st0.1\n"
        "set routing-options static route 10.0.0.0/8 next-hop st0.2\n"
        "delete routing-options static route 10.0.0.0/8\n"
        "set routing-options static route 10.0.0.0/8 discard\n"
        "set interfaces st0 unit 1 family inet\n"
        "delete interfaces st0 unit 1 family\n"
        "set interfaces st0 unit 1 family inet mtu 1400\n"
    ),
    "siblings and repeats": (
        "set security ike gateway g1 address 10.0.0.1\n"
        "set security ike gateway g2 address 10.0.0.2\n"
        "set security ike gateway g2 version v2-only\n"
        "set security ike gateway g2 version v1-only\n"
        "set security ike policy p1 mode main\n"
        "set security ike policy p2 mode main\n"
        "set interfaces st0 unit 1 family inet\n"
        "set interfaces st0 unit 2 family inet\n"
        "set interfaces st0 unit 2 family inet\n"
        "set system host-name a\n"
        "set system host-name b\n"
        "set routing-options static route 10.0.0.0/8 next-hop st0.1\n"
        "set routing-options static route 10.0.0.0/8 next-hop st0.1\n"
        "set routing-options static route 10.0.0.0/8 next-hop st0.2\n"
        "set routing-options static route 10.1.0.0/16 next-hop st0.2\n"
    ),
    "edit, up, top": (
        "edit security ike gateway g1\n"
        "set address 10.0.0.1\n"
        "set version v2-only\n"
        "up\n"
        "set gateway g2 address 10.0.0.2\n"
        "top\n"
        "set system host-name r1\n"
    ),
    "errors": (
        "set system host-name ok\n"
        "set system hostname x\n"
        "set security ike gateway\n"
        "set security ike gateway g1 nat-keepalive\n"
        "set security ike gateway g1 version v3\n"
        "set security ike gateway g1 nat-keepalive 999\n"
        "set interfaces et-0/1/8 unit 0 family inet address 300.1.1.1/24\n"
        "set system host-name a b\n"
        "set interfaces st0 unit 99999 family inet\n"
    ),
}


def _general(text: str) -> str:
    """The same lines, each ending in a comment: not plain words any more, so the general path runs them."""
    return "".join(line + " # general path\n" if line.strip() else "\n" for line in text.split("\n"))


def _outcome(schema, base, text):
    try:
        result = schema.load(base, text, "set", "set")
    except LoadError as exc:
        return "errors", [(e.line, e.message, e.statement, e.error_path) for e in exc.errors]
    return etree.tostring(result.tree, method="c14n"), [(w.line, w.message, w.statement) for w in result.warnings]


@pytest.mark.parametrize("name", list(SCRIPTS))
@pytest.mark.parametrize("into", ["empty", "configured"])
def test_fast_path_gives_what_the_general_path_gives(schema, name, into):
    base = schema.empty() if into == "empty" else schema.parse(vpn_set_config(5), "set")
    text = SCRIPTS[name]
    assert _decoded(_outcome(schema, base, text)) == _decoded(_outcome(schema, base, _general(text)))


def _decoded(outcome):
    """The outcome with secrets decoded (they are encoded with a random salt)."""
    if outcome[0] == "errors":
        return outcome
    tree = etree.fromstring(outcome[0])
    for el in tree.iter("ascii-text", "hexadecimal"):
        el.text = secret.decode9(el.text)
    return etree.tostring(tree, method="c14n"), outcome[1]


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_known_child_tags_give_what_asking_lxml_gives(schema, name, monkeypatch):
    """A workspace answers "has this new statement got that child?" from what it created; asking lxml
    every time (the knowledge switched off) must give the same configurations and errors."""
    base = schema.parse(vpn_set_config(5), "set")
    with_knowledge = _decoded(_outcome(schema, base, SCRIPTS[name]))
    monkeypatch.setattr(Workspace, "_absent", lambda self, parent, tag: False)
    monkeypatch.setattr(Workspace, "_clear_conflicts_if_any", lambda self, parent, node: self.clear_conflicts(parent, node))
    assert _decoded(_outcome(schema, base, SCRIPTS[name])) == with_knowledge


def test_a_load_copies_its_base_once_not_per_line(schema, monkeypatch):
    base = schema.parse(vpn_set_config(50), "set")
    text = vpn_set_config(50) + "".join(f"set routing-options static route 30.0.{i}.0/24 next-hop st0.1\n"
                                        for i in range(200))
    copies = []
    real = copy.deepcopy

    def counting(obj, *args, **kwargs):
        if isinstance(obj, etree._Element):
            copies.append(obj)
        return real(obj, *args, **kwargs)

    monkeypatch.setattr(copy, "deepcopy", counting)
    result = schema.load(base, text, "set", "set")
    assert len(result.tree.findall("routing-options/static/route")) == 250
    assert [c is base for c in copies] == [True], "one copy of the base, nothing per line"


def _count_libyang_runs(monkeypatch) -> list[bool]:
    runs: list[bool] = []
    real = Validator._run

    def counting(self, xml, parse_only):
        runs.append(parse_only)
        return real(self, xml, parse_only)

    monkeypatch.setattr(Validator, "_run", counting)
    return runs


def test_a_document_validated_by_the_load_is_not_validated_again(schema, monkeypatch):
    runs = _count_libyang_runs(monkeypatch)
    tree = schema.load(schema.empty(), vpn_config(20), "set", "set").tree
    assert runs == [False], "a load into an empty configuration runs one full validation"
    assert schema.validate(tree) == []
    assert schema.validate(copy.deepcopy(tree)) == []
    assert runs == [False], "the same document again needs no second libyang run"

    changed = schema.load(tree, "set security ipsec vpn vpn_1 ike gateway no-such-gateway\n", "set", "set").tree
    errors = [e.message for e in schema.validate(changed)]
    assert "Referenced IKE gateway must be defined under [edit security ike gateway]" in errors
    assert runs[-1] is False and len(runs) == 3, "a changed document is validated (type check + full)"

    schema.validator.forget()
    assert schema.validate(tree) == [] and len(runs) == 4


def test_an_incomplete_configuration_still_loads_and_fails_only_at_commit(schema, monkeypatch):
    runs = _count_libyang_runs(monkeypatch)
    text = "set security ipsec vpn v1 ike gateway missing\nset security ipsec vpn v1 ike ipsec-policy p\n"
    tree = schema.load(schema.empty(), text, "set", "set").tree
    assert runs == [False, True], "whole validation failed: the load falls back to the type check"
    assert any("Referenced IKE gateway" in e.message for e in schema.validate(tree))


def test_collector_is_paused_during_a_load_and_validation_and_restored(schema, monkeypatch):
    seen = []  # whether the collector was on at points inside the operations
    real_run, real_finish = Validator._run, Workspace.finish
    monkeypatch.setattr(Validator, "_run", lambda self, *a, **k: seen.append(gc.isenabled()) or real_run(self, *a, **k))
    monkeypatch.setattr(Workspace, "finish", lambda self: seen.append(gc.isenabled()) or real_finish(self))
    assert gc.isenabled()
    tree = schema.load(schema.empty(), vpn_config(20), "set", "set").tree
    schema.validator.forget()
    assert schema.validate(tree) == []
    assert seen == [False, False, False] and gc.isenabled()
    gc.disable()
    try:
        schema.load(schema.empty(), "set system host-name r1\n", "set", "set")
        assert not gc.isenabled(), "a collector the caller turned off stays off"
    finally:
        gc.enable()


def test_secrets_encoded_by_a_load_are_decoded_without_the_decoder(schema, monkeypatch):
    tree = schema.load(schema.empty(), vpn_config(20), "set", "set").tree
    calls = []
    real = secret._decode
    monkeypatch.setattr(secret, "_decode", lambda cipher: calls.append(cipher) or real(cipher))
    keys = [secret.decode9(el.text) for el in tree.iter("ascii-text")]
    assert keys == [f"psk-{i:05d}-secret" for i in range(1, 21)] and calls == []
    stranger = secret.encode9("not-from-a-load", salt="nnet")
    secret._DECODED.pop(stranger)
    assert secret.decode9(stranger) == "not-from-a-load" and calls == [stranger]


def test_a_missing_closing_quote_names_its_own_line(schema):
    with pytest.raises(LoadError) as info:
        schema.load(schema.empty(), 'set system host-name a\nset system host-name "abc\n', "set", "set")
    assert [(e.line, e.message) for e in info.value.errors] == [(2, "missing closing quote")]
