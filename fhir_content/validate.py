"""The validator behind ``bme-cds validate``: every load check, reported instead of raised.

It runs exactly the steps of :meth:`KnowledgeBase.load` (one place for every
rule), so content that validates clean is content the service will load; then
it re-expands every stored ValueSet expansion (which the load trusts) and
reports one that is out of date.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path

from fhir_content.expansions import check_stored_expansions
from fhir_content.knowledge import compile_content
from fhir_content.problems import Problem, Problems

__all__ = ["Problem", "ValidationReport", "check", "validate_path"]


@dataclass(frozen=True)
class ValidationReport:
    """Problems found, and how many artifacts of each type loaded cleanly enough to be checked."""

    problems: list[Problem]
    counts: dict[str, int]

    def summary(self) -> str:
        checked = ", ".join(f"{n} {kind}" for kind, n in sorted(self.counts.items())) or "no artifacts"
        return f"checked {sum(self.counts.values())} artifacts ({checked}): {len(self.problems)} problem(s)"


def check(source: Path | Traversable) -> ValidationReport:
    problems = Problems()
    content = compile_content(source, problems)
    check_stored_expansions(content.index, problems)
    counts = Counter(artifact.type for artifact in content.index.all())
    return ValidationReport(problems.as_list(), dict(counts))


def validate_path(path: Path | str | Traversable) -> list[Problem]:
    """Every problem of the content directory at ``path`` (empty when clean)."""
    return check(Path(path) if isinstance(path, str) else path).problems
