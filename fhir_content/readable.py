"""Tolerant reading of patient data: an element whose JSON cannot be what FHIR R4 says it is is left out.

An EHR may send one wrongly typed field (an eGFR value as a string, a number
where a date belongs). Handed to the rules, such a value makes an expression
fail, and with it every variable built on it, so a warning about something
else entirely could vanish. Instead each resource is checked against the R4
element types (from fhirpathpy's model, read once) before an expression sees it:
a top-level element holding a value of the wrong JSON type, or a date,
dateTime, instant or time that does not parse, is left out of the copy the
rules see, and the path is recorded (never the value). Unknown elements and
primitive extensions (``_name``) are left alone: unknown is not wrong.
Extensions, narratives and contained resources are not looked into.

Text is bounded too, so one huge report cannot hold a worker: a text value
over :attr:`TextLimits.per_value` characters, or any text of more than
:data:`SHORT_TEXT` characters once the request's texts have used up
:attr:`TextLimits.per_call`, is left out as *too long to read whole*.

Both cost Python time per element, so each runs only where it matters:
the shallow check (types and text two levels down) on every resource of a
type anything reads, derived facts computed in code included; the full
type check on the resources handed to the content's expressions (and the
patient and the draft orders), in the elements the expressions navigate.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fhirpathpy.models import models

_TYPES: Mapping[str, str] = models["r4"]["path2Type"]
_NOT_LOOKED_INTO = frozenset({"Extension", "Narrative", "Resource", "xhtml"})

_DATE = r"\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?"
_TIME = r"([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?"
_ZONE = r"(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00))"
_PATTERNS = {
    "date": re.compile(_DATE),
    "dateTime": re.compile(rf"{_DATE}(T{_TIME}{_ZONE})?"),
    "instant": re.compile(rf"\d{{4}}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T{_TIME}{_ZONE}"),
    "time": re.compile(_TIME),
}


def _is_text(value: Any) -> bool:
    return type(value) is str


def _is_integer(value: Any) -> bool:
    return type(value) is int


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


def _matches(pattern: re.Pattern[str]) -> Callable[[Any], bool]:
    return lambda value: type(value) is str and pattern.fullmatch(value) is not None


_PRIMITIVES: dict[str, Callable[[Any], bool]] = {
    "boolean": lambda value: type(value) is bool,
    "integer": _is_integer,
    "positiveInt": _is_integer,
    "unsignedInt": _is_integer,
    "decimal": _is_number,
    **{name: _matches(pattern) for name, pattern in _PATTERNS.items()},
    **dict.fromkeys(
        ("string", "code", "id", "uri", "url", "canonical", "markdown", "oid", "uuid", "base64Binary", "System.String"),
        _is_text,
    ),
}


UNREADABLE = "could not be read"
TOO_LONG = "was too long to read whole"
#: Texts up to this length are always read, even after the request's text budget is used up.
SHORT_TEXT = 1000


@dataclass(frozen=True)
class TextLimits:
    """How much text one request's rules may read: per text value, and for all texts of the call together."""

    per_value: int = 100_000
    per_call: int = 500_000


# What is known of an element: its name without a choice type's suffix (``value`` for ``valueQuantity``), and
# the check of a primitive value or the type (or backbone path) whose children it has.
_Element = tuple[str, Callable[[Any], bool] | None, str | None]


def _children_by_parent() -> dict[str, dict[str, _Element]]:
    """Type or backbone path -> child element name -> what it holds, from the model's paths (once, at import)."""
    choice_names = {
        (parent, prefix + kind[0].upper() + kind[1:]): prefix
        for path, kinds in models["r4"]["choiceTypePaths"].items()
        for parent, _, prefix in [path.rpartition(".")]
        for kind in kinds
    }
    children: dict[str, dict[str, _Element]] = {}
    for path, element_type in _TYPES.items():
        parent, _, name = path.rpartition(".")
        if element_type in _NOT_LOOKED_INTO:
            continue
        check = _PRIMITIVES.get(element_type)
        base = choice_names.get((parent, name), name)
        children.setdefault(parent, {})[name] = (base, check, None if check is not None else element_type)
        # A parent without a type of its own is a backbone element: its children are found under its path.
        grandparent, _, parent_name = parent.rpartition(".")
        if grandparent and parent not in _TYPES:
            children.setdefault(grandparent, {})[parent_name] = (parent_name, None, parent)
    return children


_CHILDREN = _children_by_parent()
_NONE: dict[str, _Element] = {}
_UNKNOWN: _Element = ("", None, None)  # an element the model does not know: only its text length is checked


def _children_of(resource: Mapping[str, Any]) -> Mapping[str, _Element]:
    """The elements of a resource's type (none for a type the model does not know, or a resourceType that is not text)."""
    kind = resource.get("resourceType")
    return _CHILDREN.get(kind, _NONE) if type(kind) is str else _NONE


class ResourceReader:
    """Checks the resources of one request, keeping count of the text read so far.

    :meth:`shallow_problems` checks the type and length of every value two
    levels down at most; :meth:`unreadable_elements` checks types all the
    way down, in the elements named in ``names`` (the ones the content's
    expressions navigate: others cannot make an expression fail).
    """

    def __init__(self, names: frozenset[str], limits: TextLimits):
        self._names = names
        self._limits = limits
        self._text_left = limits.per_call
        self._short = min(SHORT_TEXT, limits.per_value)  # texts up to this length need no counting

    def unreadable_elements(self, resource: Mapping[str, Any]) -> list[tuple[str, str, str]]:
        """``(top-level element, path of the bad value, why)`` for each value of the wrong type."""
        children = _children_of(resource)
        found: list[tuple[str, str, str]] = []
        for name, value in resource.items():
            element = children.get(name)
            bad = self._bad_value(value, element) if self._navigated(name, element) else None
            if bad is not None:
                found.append((name, name + bad, UNREADABLE))
        return found

    def _bad_value(self, value: Any, element: _Element) -> str | None:
        """The path below the element of the first value of the wrong type; ``None``: all fine."""
        _, check, children_of = element
        for item in value if type(value) is list else (value,):
            if check is not None:
                if not check(item):
                    return ""
                continue
            if type(item) is not dict:
                return ""
            children = _CHILDREN.get(children_of, {})  # type: ignore[arg-type]
            for name, child in item.items():
                element = children.get(name)
                bad = self._bad_value(child, element) if self._navigated(name, element) else None
                if bad is not None:
                    return f".{name}{bad}"
        return None

    def _navigated(self, name: str, element: _Element | None) -> bool:
        """Whether expressions navigate the element: by its name, or a choice element's by its base name."""
        return element is not None and (name in self._names or element[0] in self._names)

    def shallow_problems(self, resource: Mapping[str, Any]) -> list[tuple[str, str, str]]:
        """``(top-level element, path, why)`` for each value two levels down at most of the wrong type, or too long.

        Every resource of a type anything reads passes here, so this is
        written for speed: the values code reads most (``conclusion``,
        ``valueQuantity.value``, ``presentedForm.data``) are this shallow.
        """
        children = _children_of(resource)
        found: list[tuple[str, str, str]] = []
        for name, value in resource.items():
            element = children.get(name, _UNKNOWN)
            if type(value) is list:
                problem = next((p for item in value if (p := self._item_problem(item, element, True)) is not None), None)
            else:
                problem = self._item_problem(value, element, True)
            if problem is not None:
                found.append((name, name + problem[0], problem[1]))
        return found

    def _item_problem(self, item: Any, element: _Element, deep: bool) -> tuple[str, str] | None:
        """The problem of one value: its own type or length and, when ``deep``, its children's."""
        kind = type(item)
        check = element[1]
        if check is not None:
            if not check(item):
                return "", UNREADABLE
        elif element[2] is not None and kind is not dict:
            return "", UNREADABLE
        if kind is str:
            return ("", TOO_LONG) if len(item) > self._short and self._long_text(item) is not None else None
        if kind is dict and deep:
            children = _CHILDREN.get(element[2], _NONE) if element[2] is not None else _NONE  # type: ignore[arg-type]
            for key, child in item.items():
                child_element = children.get(key, _UNKNOWN)
                for value in child if type(child) is list else (child,):
                    problem = self._item_problem(value, child_element, False)
                    if problem is not None:
                        return f".{key}{problem[0]}", problem[1]
        return None

    def _long_text(self, text: str) -> str | None:
        """``""`` when ``text`` is over the limits, else ``None`` (a long text that fits counts against the call's)."""
        if len(text) <= self._short:
            return None
        if len(text) > self._limits.per_value or (len(text) > SHORT_TEXT and len(text) > self._text_left):
            return ""
        if len(text) > SHORT_TEXT:
            self._text_left -= len(text)
        return None
