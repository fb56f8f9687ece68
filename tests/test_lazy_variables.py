"""Library variables are computed when first read, once per request, and see what they saw when computed in order.

A request pays only for the variables its actions reach; the answers are the
same as when every variable was computed up front.
"""

from __future__ import annotations

import logging

import pytest

from engine.engine_builders import action, library, plan, write_content
from fhir_content import KnowledgeBase
from fhir_content.expressions import Expression

LEAKY = "'A'.startsWith(%patient.name.text.select($this + ''))"  # fails on a patient with two names


@pytest.fixture
def evaluated(monkeypatch) -> list[str]:
    """The ``where`` of every expression evaluated from now on."""
    seen: list[str] = []
    original = Expression.evaluate

    def spy(self, scope):
        seen.append(self.where)
        return original(self, scope)

    monkeypatch.setattr(Expression, "evaluate", spy)
    return seen


def cards(tmp_path, *resources, derived_facts=(), patient=None) -> list[str]:
    kb = KnowledgeBase.load(write_content(tmp_path / "content", *resources), derived_facts=derived_facts)
    prefetch = {"patient": patient or {"resourceType": "Patient", "id": "p1"}}
    found = kb.evaluate("plan", context={"patientId": "p1"}, prefetch=prefetch, base_url="https://x.org")
    return [card["summary"] for card in found]


def test_a_variable_no_action_reaches_is_never_computed(tmp_path, evaluated, caplog):
    lib = library("lib", used="true", unused=LEAKY)
    two_names = {"resourceType": "Patient", "id": "p1", "name": [{"text": "A"}, {"text": "B"}]}
    with caplog.at_level(logging.ERROR):
        result = cards(tmp_path, lib, plan("plan", action("Card", condition="%used"), library=[lib["url"]]), patient=two_names)
    assert result == ["Card"]
    assert [w for w in evaluated if w.startswith("Library")] == ["Library-lib.json $.extension[0].valueExpression.expression"]
    assert caplog.text == ""


def test_each_variable_is_computed_once_however_many_expressions_read_it(tmp_path, evaluated):
    lib = library("lib", base="1 + 1", twice="%base + %base")
    actions = [action(f"Card {i}", condition="%twice = 4 and %base = 2") for i in range(3)]
    assert cards(tmp_path, lib, plan("plan", *actions, library=[lib["url"]])) == ["Card 0", "Card 1", "Card 2"]
    library_evaluations = [w for w in evaluated if w.startswith("Library")]
    assert sorted(library_evaluations) == sorted(set(library_evaluations)) and len(library_evaluations) == 2


def test_a_variable_sees_only_the_variables_written_before_it(tmp_path):
    lib = library("lib", early="%late", late="true")
    actions = [action("Late", condition="%late"), action("Early", condition="%early")]
    assert cards(tmp_path, lib, plan("plan", *actions, library=[lib["url"]])) == ["Late"]


def test_before_a_variable_hides_a_derived_fact_expressions_see_the_fact(tmp_path):
    lib = library("lib", before="%shadowed", shadowed="'library'")

    def facts(view):
        return {"shadowed": ["derived"]}

    actions = [action("Before sees the fact", condition="%before = 'derived'"), action("Actions see the variable", condition="%shadowed = 'library'")]
    assert cards(tmp_path, lib, plan("plan", *actions, library=[lib["url"]]), derived_facts=[facts]) == [
        "Before sees the fact",
        "Actions see the variable",
    ]


def test_a_failing_variable_is_logged_once_and_every_reader_is_skipped(tmp_path, caplog):
    lib = library("lib", broken=LEAKY)
    two_names = {"resourceType": "Patient", "id": "p1", "name": [{"text": "Alice"}, {"text": "Alicia"}]}
    actions = [action("One", condition="%broken.exists()"), action("Two", condition="%broken.empty()"), action("Fine")]
    with caplog.at_level(logging.ERROR):
        assert cards(tmp_path, lib, plan("plan", *actions, library=[lib["url"]]), patient=two_names) == ["Fine"]
    assert caplog.text.count("library variable %broken failed") == 1
    assert "Alice" not in caplog.text


def test_derived_facts_are_computed_only_when_an_expression_reads_one(tmp_path):
    calls: list[str] = []

    def facts(view):
        calls.append("called")
        return {"finding": ["present"]}

    lib = library("lib", gate="false", evidence="%finding")
    unread = plan("plan", action("Gated", condition="%gate"), library=[lib["url"]])
    assert cards(tmp_path, lib, unread, derived_facts=[facts]) == []
    assert calls == []


def test_derived_facts_are_computed_once_for_every_reader(tmp_path):
    calls: list[str] = []

    def facts(view):
        calls.append("called")
        return {"finding": ["present"]}

    lib = library("lib", one="%finding.exists()", two="%finding.count() = 1")
    actions = [action("One", condition="%one"), action("Two", condition="%two"), action("Three", condition="%finding = 'present'")]
    assert cards(tmp_path, lib, plan("plan", *actions, library=[lib["url"]]), derived_facts=[facts]) == ["One", "Two", "Three"]
    assert calls == ["called"]
