"""Load the labelled corpus and score the report-text rules against it.

Kept apart from the test so the numbers can be printed on their own
(``python tests/findings/corpus_metrics.py``) when tuning the rules.
"""

from __future__ import annotations

import json
import sys

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from plugin.report_text import Mention, find_mentions

CORPUS = Path(__file__).with_name("corpus.tsv")
STATUSES = ("present", "uncertain", "negated", "historical")

Key = tuple[str | None, ...]


@dataclass(frozen=True)
class Example:
    line: int
    text: str
    expected: tuple[Mention, ...]


def _value(text: str) -> str | None:
    return None if text == "-" else text


def parse_expected(field: str) -> tuple[Mention, ...]:
    """``status@site/joint/laterality | ...`` or ``none``."""
    if field.strip() == "none":
        return ()
    mentions = []
    for item in field.split("|"):
        status, place = item.strip().split("@")
        site, joint, laterality = (_value(p) for p in place.split("/"))
        mentions.append(Mention(status, "", site, joint, laterality))
    return tuple(mentions)


def load_corpus(path: Path = CORPUS) -> list[Example]:
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        text, expected = line.split("\t")
        # A written "\n" stands for a line break inside the sentence, as report texts have them.
        examples.append(Example(number, text.replace("\\n", "\n"), parse_expected(expected)))
    return examples


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def add(self, expected: Counter, predicted: Counter) -> None:
        matched = sum((expected & predicted).values())
        self.tp += matched
        self.fp += sum(predicted.values()) - matched
        self.fn += sum(expected.values()) - matched


#: label -> which part of a mention it compares (None: the mention does not count for this label).
LABELS: dict[str, Callable[[Mention], Key | None]] = {
    **{status: (lambda m, s=status: ("x",) if m.status == s else None) for status in STATUSES},
    "site": lambda m: (m.site, m.joint) if (m.site or m.joint) else None,
    "laterality": lambda m: (m.joint, m.laterality) if m.laterality else None,
    "whole mention": lambda m: (m.status, m.site, m.joint, m.laterality),
}


def _keys(mentions: Iterable[Mention], key: Callable[[Mention], Key | None]) -> Counter:
    return Counter(k for k in map(key, mentions) if k is not None)


def evaluate(examples: Iterable[Example]) -> tuple[dict[str, Score], list[tuple[Example, tuple[Mention, ...]]]]:
    """Per-label scores (multiset match within each sentence) and the sentences that differ."""
    scores = {label: Score() for label in LABELS}
    errors = []
    for example in examples:
        predicted = tuple(find_mentions(example.text))
        for label, key in LABELS.items():
            scores[label].add(_keys(example.expected, key), _keys(predicted, key))
        if _keys(example.expected, LABELS["whole mention"]) != _keys(predicted, LABELS["whole mention"]):
            errors.append((example, predicted))
    return scores, errors


def table(scores: dict[str, Score]) -> str:
    rows = [f"{'label':<14} {'support':>7} {'precision':>9} {'recall':>7}"]
    for label, s in scores.items():
        rows.append(f"{label:<14} {s.tp + s.fn:>7} {s.precision:>9.3f} {s.recall:>7.3f}")
    return "\n".join(rows)


def _short(mentions: Iterable[Mention]) -> str:
    return " | ".join(f"{m.status}@{m.site or '-'}/{m.joint or '-'}/{m.laterality or '-'}" for m in mentions) or "none"


def as_json(scores: dict[str, Score], sentences: int) -> dict[str, object]:
    """The table as data, for saving a measurement (tests/findings/heldout-*.json)."""
    return {"sentences": sentences, "labels": {
        label: {"support": s.tp + s.fn, "tp": s.tp, "fp": s.fp, "fn": s.fn,
                "precision": round(s.precision, 3), "recall": round(s.recall, 3)} for label, s in scores.items()}}


def main(argv: list[str]) -> None:
    """``corpus_metrics.py [FILE.tsv ...] [--json OUT] [--quiet]``: score files (default: corpus.tsv)."""
    json_out = argv[argv.index("--json") + 1] if "--json" in argv else None
    paths = [Path(a) for a in argv if a.endswith(".tsv")] or [CORPUS]
    examples = [example for path in paths for example in load_corpus(path)]
    result, wrong = evaluate(examples)
    print(f"{len(examples)} sentences\n{table(result)}\n")
    if json_out:
        Path(json_out).write_text(json.dumps(as_json(result, len(examples)), indent=2) + "\n", encoding="utf-8")
    if "--quiet" not in argv:
        for ex, got in wrong:
            print(f"line {ex.line}: {ex.text}\n  expected {_short(ex.expected)}\n  got      {_short(got)}")


if __name__ == "__main__":
    main(sys.argv[1:])
