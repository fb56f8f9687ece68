"""The FHIRPath variables of one request: built-ins, derived facts, then Library variables.

Built-ins are computed once per request, before any action is evaluated. A
Library variable is computed the first time an expression reads it, at most
once per request, so a request pays only for the variables its conditions,
texts and suggestions actually reach (a patient with no BME finding never
computes the finding's evidence). The derived facts are computed, all
together and once, when an expression first reads a name that is neither a
built-in nor a Library variable (an order-select call whose selected order no
rule is about never reads report text). Each variable sees exactly what it
saw when all were computed in order up front: the built-ins, the derived facts
and the variables written before it. A failing derived fact or
variable is logged (without patient data) and left undefined: expressions
that use it then fail, and the engine skips their actions instead of showing
a card computed from missing data.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from typing import Any

from fhir_content.datacontext import DataView
from fhir_content.expressions import ExpressionError, Scope
from fhir_content.libraries import RESERVED_NAMES, CompiledLibrary, Variable

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
        view.check_deadline()
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
    variables = [v for library in libraries for v in library.variables]
    library_variables = _LibraryVariables(builtins, lambda: _derived(view, derived_facts), variables, patient, view)
    return Scope(patient, library_variables.visible_before(len(library_variables.variables)), view)


_FAILED = object()


class _LibraryVariables:
    """The Library variables of one request, each evaluated on first use and remembered, over the built-ins
    and the derived facts (computed by ``derive`` on first need)."""

    def __init__(
        self,
        builtins: Mapping[str, Any],
        derive: Callable[[], Mapping[str, Any]],
        variables: Sequence[Variable],
        root: Mapping[str, Any],
        view: DataView,
    ):
        self.builtins = builtins
        self._derive = derive
        self._facts: Mapping[str, Any] | None = None
        self.variables = tuple(variables)
        self._root = root
        self._view = view
        self._values: dict[int, Any] = {}
        self._positions: dict[str, list[int]] = {}
        for position, variable in enumerate(self.variables):
            self._positions.setdefault(variable.name, []).append(position)

    def visible_before(self, limit: int) -> RequestVariables:
        return RequestVariables(self, limit)

    @property
    def facts(self) -> Mapping[str, Any]:
        if self._facts is None:
            self._facts = self._derive()
        return self._facts

    def lookup(self, name: str, limit: int) -> Any:
        """The value ``%name`` has for an expression that sees the variables before ``limit``; ``_FAILED`` if none.

        The latest definition before ``limit`` that evaluated wins, else the
        built-in or derived fact of that name: what the name held at that
        point when the variables were assigned one after another.
        """
        for position in reversed(self._positions.get(name, ())):
            if position < limit:
                value = self._value(position)
                if value is not _FAILED:
                    return value
        if name in self.builtins:
            return self.builtins[name]
        return self.facts.get(name, _FAILED)

    def _value(self, position: int) -> Any:
        if position not in self._values:
            self._view.check_deadline()
            variable = self.variables[position]
            try:
                self._values[position] = variable.expression.evaluate(Scope(self._root, self.visible_before(position), self._view))
            except ExpressionError as exc:
                log.error("library variable %%%s failed, left undefined: %s", variable.name, exc)
                self._values[position] = _FAILED
        return self._values[position]


class RequestVariables(Mapping[str, Any]):
    """The ``%`` variables an expression sees: built-ins, derived facts and the Library variables before a point.

    Reading a Library variable computes it (once per request); iterating
    computes them all.
    """

    __slots__ = ("_library", "_limit")

    def __init__(self, library: _LibraryVariables, limit: int):
        self._library = library
        self._limit = limit

    def __getitem__(self, name: str) -> Any:
        value = self._library.lookup(name, self._limit)
        if value is _FAILED:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._library.lookup(name, self._limit) is not _FAILED

    def __iter__(self) -> Iterator[str]:
        names = dict.fromkeys(self._library.builtins)
        names.update(dict.fromkeys(self._library.facts))
        names.update(dict.fromkeys(v.name for v in self._library.variables[: self._limit]))
        return (name for name in names if name in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)
