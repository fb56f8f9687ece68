"""The prefilters of plugin/report_text.py never change what a text says.

:class:`~plugin.report_text.ReportText` does not read a text in which no
``TERM_WORDS`` word occurs (:func:`~plugin.report_text.may_mention_bme`), and :func:`~plugin.report_text.first_joint` does
not scan a text that :func:`~plugin.report_text.may_name_a_site` rules out.
That is sound only if every match of every ``TERMS`` (``SITES``) row contains
one of those words: checked on generated matches of each row, and end to end
by reading the labelled corpus and every text of the golden and demo
patients with and without the prefilters.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from content.patients import CASES
from findings.corpus_metrics import load_corpus
from plugin import report_text
from plugin.demo.patients import DEMO_PATIENTS
from plugin.report_text import SITES, TERMS, conclusion_result, find_mentions, first_joint, may_mention_bme, may_name_a_site


@pytest.mark.parametrize("row", range(len(TERMS)), ids=[pattern for pattern, _, _ in TERMS])
def test_every_match_of_every_term_row_contains_a_term_word(row):
    # Case-insensitive like the matcher, so the generated matches vary case (and Unicode case folds).
    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.from_regex(re.compile(TERMS[row][0], re.IGNORECASE), fullmatch=True))
    def check(match: str) -> None:
        assert may_mention_bme(match), match
        assert may_mention_bme(f"x {match} y"), match

    check()


@pytest.mark.parametrize("row", range(len(SITES)), ids=[pattern for pattern, _, _, _ in SITES])
def test_every_match_of_every_site_row_may_name_a_site(row):
    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.from_regex(re.compile(SITES[row][0], re.IGNORECASE), fullmatch=True))
    def check(match: str) -> None:
        assert may_name_a_site(match), match
        assert may_name_a_site(f"x {match} y"), match

    check()


def _strings(value: Any) -> Iterator[str]:
    """Every string in a resource, with base64 attachment data decoded: a superset of the texts read."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "data" and isinstance(item, str):
                yield base64.b64decode(item).decode("utf-8", errors="replace")
            else:
                yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def report_texts() -> list[str]:
    charts = [case.chart() for case in CASES] + [patient.case(patient.visits[0]).chart() for patient in DEMO_PATIENTS]
    chart_texts = {text for chart in charts for text in _strings(chart)}
    return [example.text for example in load_corpus()] + sorted(chart_texts)


TEXTS = report_texts()


def test_the_prefilter_changes_no_reading(monkeypatch):
    with_prefilter = [(find_mentions(text), conclusion_result(text)) for text in TEXTS]
    monkeypatch.setattr(report_text, "may_mention_bme", lambda text: True)  # lets every text through
    without = [(find_mentions(text), conclusion_result(text)) for text in TEXTS]
    assert with_prefilter == without
    # Both sides of the prefilter are exercised: texts with mentions and texts it skips.
    assert sum(1 for mentions, _ in without if mentions) >= 300
    assert sum(1 for text in TEXTS if not may_mention_bme(text)) >= 50


def test_the_site_prefilter_changes_no_joint(monkeypatch):
    with_prefilter = [first_joint(text) for text in TEXTS]
    monkeypatch.setattr(report_text, "may_name_a_site", lambda text: True)
    assert with_prefilter == [first_joint(text) for text in TEXTS]
    assert sum(1 for joint in with_prefilter if joint) >= 200
    assert sum(1 for text in TEXTS if not may_name_a_site(text)) >= 100
