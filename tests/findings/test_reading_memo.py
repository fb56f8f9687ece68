"""``plugin.report_text.read``: the reading derive_facts uses, remembered per text without keeping the text."""

from __future__ import annotations

import uuid
from pathlib import Path

from findings.corpus_metrics import load_corpus
from plugin import report_text
from plugin.report_text import Reading, conclusion_result, find_mentions, read

MRI_KNEE_REPORT = Path(__file__).with_name("mri-knee-report.txt").read_text(encoding="utf-8")


def test_read_gives_what_the_uncached_readers_give():
    texts = [example.text for example in load_corpus()] + [MRI_KNEE_REPORT]
    for text in texts:
        assert read(text) == Reading(tuple(find_mentions(text)), conclusion_result(text)), text
    # Twice over: the remembered readings are the same as the first ones.
    assert [read(text) for text in texts] == [Reading(tuple(find_mentions(t)), conclusion_result(t)) for t in texts]


def test_texts_that_differ_only_in_a_negation_are_read_apart():
    marker = uuid.uuid4().hex
    present = read(f"Bone marrow edema in the medial femoral condyle. Ref {marker}.")
    negated = read(f"No bone marrow edema in the medial femoral condyle. Ref {marker}.")
    assert [m.status for m in present.mentions] == ["present"]
    assert [m.status for m in negated.mentions] == ["negated"]


def test_a_text_sent_again_is_not_read_again(monkeypatch):
    readings = []

    class CountingReportText(report_text.ReportText):
        def __init__(self, text: str):
            readings.append(text)
            super().__init__(text)

    monkeypatch.setattr(report_text, "ReportText", CountingReportText)
    text = f"FINDINGS: Bone bruise of the lateral tibial plateau. Ref {uuid.uuid4().hex}."
    first = read(text)
    assert read(text) is first
    assert readings == [text]


def test_the_memo_keeps_no_report_text():
    marker = uuid.uuid4().hex
    text = f"IMPRESSION: Subchondral bone marrow edema of the left talus. Accession {marker}."
    assert read(text).mentions
    assert all(type(key) is bytes and len(key) == 32 for key in read.cache)
    assert not any(marker in repr(key) or marker in repr(value) for key, value in read.cache.items())
