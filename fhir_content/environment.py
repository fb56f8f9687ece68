"""The FHIRPath variables of one request: built-ins, derived facts, then Library variables.

Built once per request, before any action is evaluated, so every Library
variable and every derived fact is computed exactly once however many actions
use it. A failing derived fact or variable is logged (without patient data)
and left undefined: expressions that use it then fail, and the engine skips
their actions instead of showing a card computed from missing data.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from fhir_content.datacontext import DataView
from fhir_content.expressions import ExpressionError, Scope
from fhir_content.libraries import RESERVED_NAMES, CompiledLibrary

log = logging.getLogger(__name__)

DerivedFacts = Callable[[DataView], Mapping[str, list[dict]]]


def age_in_years(birth_date: Any, today: date) -> int | None:
    """Whole years since ``birthDate``. A partial date (``1970`` or ``1970-05``) counts from the last
    day it may stand for, so the age is never overstated; unparseable dates give ``None``."""
    if not isinstance(birth_date, str):
        return None
    parts = birth_date[:10].split("-")
    try:
        year = int(parts[0])
        month = int(parts[1]) if len(parts) > 1 else 12
        day = int(parts[2]) if len(parts) > 2 else calendar.monthrange(year, month)[1]
        born = date(year, month, day)
    except (ValueError, IndexError):
        return None
    years = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return years if years >= 0 else None


def _derived(view: DataView, derived_facts: Sequence[DerivedFacts]) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    for fn in derived_facts:
        try:
            facts.update(fn(view))
        except Exception as exc:  # a content bug must not take the service down; log no data
            log.error("derived facts %s failed (%s); dependent actions are skipped", getattr(fn, "__qualname__", fn), type(exc).__name__)
    for name in RESERVED_NAMES & facts.keys():
        log.error("derived fact %%%s hides a built-in variable and is ignored", name)
        del facts[name]
    return facts


def build_scope(
    view: DataView,
    *,
    base_url: str,
    language: str,
    libraries: Sequence[CompiledLibrary],
    derived_facts: Sequence[DerivedFacts],
    today: date | None = None,
) -> Scope:
    """The evaluation scope of one request (root resource: the Patient, or empty)."""
    patient = view.patient or {}
    age = age_in_years(patient.get("birthDate"), today or date.today())
    builtins: dict[str, Any] = {
        "patient": view.patient or [],
        "context": dict(view.context),
        "draftOrders": view.draft_orders,
        "selections": view.selections,
        "baseUrl": base_url.rstrip("/") or [],
        "language": language or [],
        "ageYears": [] if age is None else age,
    }
    variables = {**_derived(view, derived_facts), **builtins}
    for library in libraries:
        for variable in library.variables:
            try:
                variables[variable.name] = variable.expression.evaluate(Scope(patient, variables, view))
            except ExpressionError as exc:
                log.error("library variable %%%s failed, left undefined: %s", variable.name, exc)
    return Scope(patient, variables, view)
