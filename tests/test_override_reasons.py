"""Override reasons map to the six standard CDS Hooks 3.0 categories for the feedback report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cds_hooks.override_reasons import CATEGORIES, NON_ADHERENCE, OTHER, PROJECT, category

CONTENT = Path(__file__).parents[1] / "plugin" / "content"


@pytest.mark.parametrize(
    ("system", "code", "expected"),
    [
        (NON_ADHERENCE, "action-completed", "cds-not-applicable"),
        (NON_ADHERENCE, "cds-not-applicable", "cds-not-applicable"),
        (NON_ADHERENCE, "risk-benefit-ratio", "recipient-concerns-outcomes"),
        (NON_ADHERENCE, "patient-refuses", "does-not-align-preferences"),
        (NON_ADHERENCE, "too-costly-uncovered", "not-convenient-feasible"),
        (NON_ADHERENCE, "no-such-code", OTHER),
        (PROJECT, "short-course", "recipient-concerns-outcomes"),
        (PROJECT, "gastroprotection-in-place", "recipient-concerns-outcomes"),
        (PROJECT, "not-relevant", "cds-not-applicable"),  # stored before cards offered the standard code
        (PROJECT, "made-up", OTHER),
        ("https://example.com/cds-hooks/override-reason-system", "d7ecf885", OTHER),
    ],
)
def test_a_reason_falls_in_its_standard_category(system, code, expected):
    assert category(system, code) == expected


def test_there_are_six_categories():
    assert len(CATEGORIES) == 6


def test_every_reason_the_bme_cards_offer_has_a_category():
    offered = set()
    for path in CONTENT.glob("PlanDefinition-*.json"):
        for extension in _extensions(json.loads(path.read_text())):
            if extension["url"].endswith("/override-reason"):
                offered.add((extension["valueCoding"]["system"], extension["valueCoding"]["code"]))
    assert {system for system, _ in offered} == {NON_ADHERENCE, PROJECT}
    assert all(category(system, code) != OTHER for system, code in offered), offered


def _extensions(node):
    if isinstance(node, dict):
        yield from node.get("extension", [])
        for value in node.values():
            yield from _extensions(value)
    elif isinstance(node, list):
        for value in node:
            yield from _extensions(value)
