"""Tolerant reading of patient data: an element whose JSON cannot be what FHIR R4 says it is is left out.

An EHR may send one wrongly typed field (an eGFR value as a string, a number
where a date belongs). Handed to the rules, such a value makes an expression
fail, and with it every variable built on it, so a warning about something
else entirely could vanish. Instead each resource is checked against the R4
element types (from fhirpathpy's model, read once) before the rules see it:
a top-level element holding a value of the wrong JSON type, or a date,
dateTime, instant or time that does not parse, is left out of the copy the
rules see, and the path is recorded (never the value). Unknown elements and
primitive extensions (``_name``) are left alone: unknown is not wrong.
Extensions, narratives and contained resources are not looked into.

Text is bounded too, so one huge report cannot hold a worker: a text value
over :attr:`TextLimits.per_value` characters, or any text of more than
:data:`SHORT_TEXT` characters once the request's texts have used up
:attr:`TextLimits.per_call`, is left out as *too long to read whole*.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fhirpathpy.models import models

_MODEL = models["r4"]
_TYPES: Mapping[str, str] = _MODEL["path2Type"]
# Paths of backbone elements (no type of their own, children under the path itself).
_BACKBONES = frozenset(path.rpartition(".")[0] for path in _TYPES) - frozenset(_TYPES)
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


class ResourceReader:
    """Checks the resources of one request, keeping count of the text read so far."""

    def __init__(self, limits: TextLimits):
        self._limits = limits
        self._text_left = limits.per_call

    def unreadable_elements(self, resource: Mapping[str, Any]) -> list[tuple[str, str, str]]:
        """``(top-level element, path of the bad value, why)`` for each value the rules cannot be shown."""
        kind = resource.get("resourceType")
        found: list[tuple[str, str, str]] = []
        for name, value in resource.items():
            if name.startswith("_") or name == "resourceType":
                continue
            bad = self._first_bad(value, f"{kind}.{name}", name)
            if bad is not None:
                found.append((name, *bad))
        return found

    def _first_bad(self, value: Any, path: str, shown: str) -> tuple[str, str] | None:
        """The shown path of the first value under ``path`` that cannot be shown, and why (``None``: all fine)."""
        element_type = _TYPES.get(path)
        if element_type is None and path not in _BACKBONES:
            return None  # unknown element (or a choice base name): not ours to judge
        if element_type in _NOT_LOOKED_INTO:
            return None
        for item in value if type(value) is list else (value,):
            bad = self._bad_item(item, element_type, path, shown)
            if bad is not None:
                return bad
        return None

    def _bad_item(self, item: Any, element_type: str | None, path: str, shown: str) -> tuple[str, str] | None:
        check = _PRIMITIVES.get(element_type) if element_type is not None else None
        if check is not None:
            if not check(item):
                return shown, UNREADABLE
            return self._text(item, shown) if type(item) is str else None
        if type(item) is not dict:
            return shown, UNREADABLE
        base = path if element_type is None else element_type
        for name, value in item.items():
            if not name.startswith("_"):
                bad = self._first_bad(value, f"{base}.{name}", f"{shown}.{name}")
                if bad is not None:
                    return bad
        return None

    def _text(self, text: str, shown: str) -> tuple[str, str] | None:
        """A text is read if it fits the per-value limit and, unless short, what is left of the call's."""
        if len(text) > self._limits.per_value:
            return shown, TOO_LONG
        if len(text) > SHORT_TEXT:
            if len(text) > self._text_left:
                return shown, TOO_LONG
            self._text_left -= len(text)
        return None

