"""Prefetch templates generated from the plan's ``input`` DataRequirements (one key per resource type).

Code filters only narrow the transfer: the engine filters by value set itself,
so when a type's value sets hold more than :data:`MAX_CODES` codes (or any
requirement for the type has no code filter) the query asks for all resources
of the type.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from fhir_content.terminology import Terminology

MAX_CODES = 40
PATIENT_TOKEN = "{{context.patientId}}"
# Search parameter for the coded element, where it is not ``code`` (R4 search parameters).
CODE_SEARCH_PARAMS: Mapping[str, str | None] = {"Immunization": "vaccine-code", "ImagingStudy": None}
EXTRA_PARAMS: Mapping[str, str] = {"MedicationRequest": "&status=active"}


def prefetch_key(resource_type: str) -> str:
    """Lower-camel plural: ``Condition`` -> ``conditions``, ``ImagingStudy`` -> ``imagingStudies``."""
    key = resource_type[0].lower() + resource_type[1:]
    if re.search(r"[^aeiou]y$", key):
        return key[:-1] + "ies"
    if re.search(r"(s|x|ch|sh)$", key):
        return key + "es"
    return key + "s"


def prefetch_templates(requirements: Iterable[Mapping[str, Any]], terminology: Terminology) -> dict[str, str]:
    """``{key: query template}`` merged per resource type, keys in sorted order."""
    value_sets: dict[str, set[str] | None] = {}
    for requirement in requirements:
        kind = requirement["type"]
        urls = {f["valueSet"] for f in requirement.get("codeFilter") or ()}
        if kind in value_sets and value_sets[kind] is None:
            continue
        value_sets[kind] = None if not urls else (value_sets.get(kind) or set()) | urls
    templates = {}
    for kind, urls in value_sets.items():
        if kind == "Patient":
            templates["patient"] = f"Patient/{PATIENT_TOKEN}"
        else:
            templates[prefetch_key(kind)] = f"{kind}?patient={PATIENT_TOKEN}{_code_param(kind, urls, terminology)}{EXTRA_PARAMS.get(kind, '')}"
    return dict(sorted(templates.items()))


def _code_param(kind: str, urls: set[str] | None, terminology: Terminology) -> str:
    param = CODE_SEARCH_PARAMS.get(kind, "code")
    if not urls or param is None:
        return ""
    codes = sorted({f"{c.system}|{c.code}" for url in urls for c in terminology.concepts(url)})
    return f"&{param}={','.join(codes)}" if len(codes) <= MAX_CODES else ""
