"""Stored expansions of ICD-10-CM value sets: written ahead of time, checked by ``bme-cds validate``.

Expanding an ICD-10-CM ``is-a`` filter, or checking that an ICD-10-CM code
exists, needs ``simple_icd_10_cm``, whose code tables take seconds to load
and much memory in every process that imports them - every gunicorn worker,
at every start. The answer does not change between starts, so it is computed once and
kept in the content, in the standard ``ValueSet.expansion`` element, named by
a fingerprint of what it was computed from (see
:meth:`fhir_content.terminology.Expander.fingerprint`). The engine reads a
current stored expansion instead of expanding; anything else is expanded from
the compose as before, so a stale file costs start-up time, never a wrong
answer.

Write or refresh them after changing a value set (only value sets whose
compose names ICD-10-CM get one; files are rewritten only when it changed)::

    python -m fhir_content.expansions plugin/content

``python -m fhir_content.expansions --check DIR`` (and ``bme-cds validate``)
report a stored expansion that is out of date or differs from a fresh one.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from fhir_content.loader import Artifact, ArtifactIndex, read_artifacts
from fhir_content.problems import ContentLoadError, Problem, Problems
from fhir_content.systems import ICD10CM
from fhir_content.terminology import ICD10CM_PACKAGE, Concept, Expander, normalize_system

REFRESH = "run python -m fhir_content.expansions on the content directory"


def names_icd10cm(artifact: Artifact) -> bool:
    """True when the value set's own compose includes or excludes ICD-10-CM codes (it gets a stored expansion)."""
    compose = artifact.resource.get("compose") or {}
    parts = (compose.get("include") or []) + (compose.get("exclude") or [])
    return any(isinstance(p.get("system"), str) and normalize_system(p["system"]) == ICD10CM for p in parts)


def check_stored_expansions(index: ArtifactIndex, problems: Problems) -> None:
    """Report every stored expansion that is out of date, or that a fresh expansion disagrees with.

    Also reports the compose problems of value sets the load read from a
    stored expansion (the load did not look at their compose).
    """
    with_stored = [a for a in index.all("ValueSet") if "expansion" in a.resource]
    if not with_stored:
        return
    fresh = Expander(index, Problems(), use_stored=False)
    current = Expander(index, Problems())
    for artifact in with_stored:
        fresh.expand(artifact)
        current.expand(artifact)
        if artifact.key not in current.stored:
            problems.add(
                artifact.file,
                "$.expansion",
                f"stored expansion is out of date (its compose, an included value set or {ICD10CM_PACKAGE} changed): {REFRESH}",
            )
        elif current.done[artifact.key] != fresh.done[artifact.key]:
            problems.add(artifact.file, "$.expansion", f"stored expansion differs from a fresh expansion of the compose: {REFRESH}")
    stored_files = {a.file for a in index.all("ValueSet") if a.key in current.stored}
    for problem in fresh.problems.as_list():
        if problem.file in stored_files:
            problems.add(problem.file, problem.path, problem.message)


def write_stored_expansions(directory: Path) -> list[str]:
    """Store a fresh expansion in every ICD-10-CM value set of ``directory``; the names of the files changed.

    Raises :class:`ContentLoadError` (writing nothing) when the value sets have problems.
    """
    problems = Problems()
    index = ArtifactIndex(read_artifacts(directory, problems), problems)
    expander = Expander(index, problems, use_stored=False)
    targets = [a for a in index.all("ValueSet") if names_icd10cm(a)]
    expansions = {a.key: (expander.expand(a), expander.fingerprint(a)) for a in index.all("ValueSet")}
    if problems:
        raise ContentLoadError(problems.as_list())
    changed = []
    timestamp = datetime.now(UTC).isoformat(timespec="seconds")
    for artifact in targets:
        concepts, fingerprint = expansions[artifact.key]
        old = artifact.resource.get("expansion") or {}
        if old.get("identifier") == fingerprint and old.get("contains") == [c.as_json() for c in concepts]:
            continue
        resource = {**artifact.resource, "expansion": _expansion(concepts, fingerprint, timestamp)}
        (directory / artifact.file).write_text(json.dumps(resource, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        changed.append(artifact.file)
    return changed


def check_path(source: Path | Traversable) -> list[Problem]:
    """The stored-expansion problems of a content directory."""
    problems = Problems()
    index = ArtifactIndex(read_artifacts(source, problems), problems)
    check_stored_expansions(index, problems)
    return problems.as_list()


def _expansion(concepts: tuple[Concept, ...], fingerprint: str | None, timestamp: str) -> dict[str, Any]:
    expansion: dict[str, Any] = {"identifier": fingerprint, "timestamp": timestamp, "total": len(concepts)}
    if concepts:
        expansion["contains"] = [c.as_json() for c in concepts]
    return expansion


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fhir_content.expansions", description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--check", action="store_true", help="only report stored expansions that are out of date")
    args = parser.parse_args(argv)
    if args.check:
        problems = check_path(args.directory)
        for problem in problems:
            print(problem)
        print(f"{len(problems)} problem(s)")
        return 1 if problems else 0
    try:
        changed = write_stored_expansions(args.directory)
    except ContentLoadError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{len(changed)} value set(s) updated" + "".join(f"\n  {name}" for name in changed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
