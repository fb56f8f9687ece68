"""The report-text rules measured against the labelled corpus (tests/findings/corpus.tsv).

Prints the per-label table, so a reader sees the numbers with every run;
fails when any label drops below the bar.
"""

from __future__ import annotations

from findings.corpus_metrics import STATUSES, evaluate, load_corpus, table

MINIMUM = 0.95
GATED_LABELS = (*STATUSES, "site", "laterality")


def test_precision_and_recall_per_label(capsys, record_property):
    corpus = load_corpus()
    # The bar means something only on a corpus of this size that has every status and negatives.
    assert len(corpus) >= 150
    assert {m.status for example in corpus for m in example.expected} == set(STATUSES)
    assert sum(1 for example in corpus if not example.expected) >= 20
    scores, errors = evaluate(corpus)
    report = table(scores)
    with capsys.disabled():
        print(f"\nBME report-text rules on {len(corpus)} labelled sentences:\n{report}")
    for label, score in scores.items():
        record_property(f"{label} precision", round(score.precision, 3))
        record_property(f"{label} recall", round(score.recall, 3))
    low = {label: (round(scores[label].precision, 3), round(scores[label].recall, 3))
           for label in GATED_LABELS if min(scores[label].precision, scores[label].recall) < MINIMUM}
    wrong = "\n".join(f"line {ex.line}: {ex.text}" for ex, _ in errors)
    assert not low, f"labels below {MINIMUM}: {low}\nsentences that differ:\n{wrong}"
