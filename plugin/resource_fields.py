"""Tolerant readers of FHIR JSON fields shared by the report reader and the derived facts.

Patient data arrives as parsed JSON that may be malformed anywhere; each reader
returns an empty or ``None`` answer for a value of the wrong shape instead of
raising, so one odd element never breaks a hook call.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from fhir_content.datacontext import codings

#: Statuses that take a resource out of the record.
SKIPPED_STATUSES = frozenset({"entered-in-error", "cancelled"})
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def as_list(value: Any) -> list[Any]:
    """A repeating element as a list (anything else: empty), so odd JSON never breaks a request."""
    return value if isinstance(value, list) else []


def source_ref(resource: Mapping[str, Any]) -> str | None:
    """``Type/id`` of a resource, when it has an id."""
    rid = resource.get("id")
    return f"{resource.get('resourceType')}/{rid}" if isinstance(rid, str) and rid else None


def concept_texts(value: Any) -> Iterator[str]:
    """``text`` and coding ``display`` of a CodeableConcept (or a list of them)."""
    concepts = value if isinstance(value, list) else [value]
    for concept in concepts:
        if not isinstance(concept, Mapping):
            continue
        if isinstance(concept.get("text"), str):
            yield concept["text"]
        for coding in codings(concept):
            if isinstance(coding.get("display"), str):
                yield coding["display"]


def clinical_date(resource: Mapping[str, Any]) -> str | None:
    """The clinically relevant date (effective, else issued) as YYYY-MM-DD, when a full date is given."""
    period = resource.get("effectivePeriod")
    candidates = (
        resource.get("effectiveDateTime"),
        resource.get("effectiveInstant"),
        period.get("start") if isinstance(period, Mapping) else None,
        resource.get("issued"),
    )
    for value in candidates:
        if isinstance(value, str) and _DATE_RE.match(value):
            return value[:10]
    return None


def is_skipped(resource: Mapping[str, Any]) -> bool:
    """Entered in error or cancelled: not part of the record."""
    status = resource.get("status")
    return isinstance(status, str) and status in SKIPPED_STATUSES
