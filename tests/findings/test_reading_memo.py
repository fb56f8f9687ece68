"""The memos of plugin.text_memo: derive_facts reads a report text once, and no text stays in memory."""

from __future__ import annotations

import uuid
from pathlib import Path

from findings.corpus_metrics import load_corpus
from plugin import findings, report_text
from plugin.report_text import Reading, conclusion_result, find_mentions, read
from plugin.text_memo import digest

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


def test_the_memos_keep_no_report_text():
    marker = uuid.uuid4().hex
    text = f"IMPRESSION: Subchondral bone marrow edema of the left talus. Accession {marker}."
    assert read(text).mentions
    assert findings._described(f"XR ANKLE LEFT {marker}", text).joint == "ankle"
    for memo in (read.cache, findings._described.cache):
        assert all(type(key) is bytes and len(key) == 32 for key in memo)
        assert not any(marker in repr(key) or marker in repr(value) for key, value in memo.items())


def test_the_digest_tells_apart_how_texts_are_split():
    assert len({digest("ab"), digest("a", "b"), digest("", "ab"), digest("ab", "")}) == 4
    assert digest("a", "b") == digest("a", "b")
    assert digest("lone surrogate \udc80") != digest("lone surrogate ")
