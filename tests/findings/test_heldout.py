"""The report-text rules on sentences they were not tuned on (tests/findings/heldout.tsv).

The issue-20 sentences were written by two writers before the rules changed
and split in halves; the rules were tuned on tuning.tsv only. This scores the
held-out half against the targets of docs/findings.md ("negated" is the
absent status) and prints its table with every run.
"""

from __future__ import annotations

from pathlib import Path

from findings.corpus_metrics import STATUSES, evaluate, load_corpus, table

HERE = Path(__file__).parent
#: (status, measure) -> minimum, on the held-out half.
TARGETS = {
    ("present", "recall"): 0.95,
    ("negated", "recall"): 0.95,
    ("negated", "precision"): 0.97,  # a sentence read as "no BME" wrongly hides a finding
    ("uncertain", "recall"): 0.85,
    ("uncertain", "precision"): 0.85,
    ("historical", "recall"): 0.90,
    ("historical", "precision"): 0.90,
}


def _writer_blocks(path: Path) -> list[int]:
    """Sentences per writer block ("# --- Writer ..." comment lines start a block)."""
    counts: list[int] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# --- Writer"):
            counts.append(0)
        elif line.strip() and not line.startswith("#") and counts:
            counts[-1] += 1
    return counts


def test_the_halves_hold_both_writers_and_enough_sentences():
    heldout, tuning = _writer_blocks(HERE / "heldout.tsv"), _writer_blocks(HERE / "tuning.tsv")
    assert len(heldout) == 2 and all(n >= 50 for n in heldout)
    assert sum(heldout) + sum(tuning) >= 200
    held_texts = {e.text for e in load_corpus(HERE / "heldout.tsv")}
    assert not held_texts & {e.text for e in load_corpus(HERE / "tuning.tsv")}, "a sentence is in both halves"


def test_held_out_half_meets_the_targets(capsys, record_property):
    examples = load_corpus(HERE / "heldout.tsv")
    assert {m.status for e in examples for m in e.expected} == set(STATUSES)
    scores, _ = evaluate(examples)
    with capsys.disabled():
        print(f"\nBME report-text rules on {len(examples)} held-out sentences:\n{table(scores)}")
    missed = {}
    for (status, measure), minimum in TARGETS.items():
        value = getattr(scores[status], measure)
        record_property(f"heldout {status} {measure}", round(value, 3))
        if value < minimum:
            missed[f"{status} {measure}"] = (round(value, 3), minimum)
    assert not missed, f"held-out targets missed (value, minimum): {missed}"
