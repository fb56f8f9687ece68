"""Strict JSON: the one parser for every body a client or a FHIR server sends us.

Refused with :class:`InvalidJson`, whose message says why: bytes that are not
UTF-8, duplicate keys (parsers disagree about which value wins, so a body
could mean one thing to us and another to whoever checked it),
``NaN``/``Infinity``, numbers too large to represent, lone UTF-16 surrogates
(which cannot be encoded again) and nesting deeper than :data:`MAX_NESTING`.

A hook call body is a few hundred kilobytes and is parsed on every call, so
the common case stays in C:

* msgspec decodes, faster than ``json.loads``, and it already refuses
  invalid UTF-8, ``NaN``, overflowing numbers, lone surrogates, control
  characters and trailing data. No Python call per object (a hook per
  object made the parse much slower).
* Duplicate keys are found by counting instead: each key in the text is
  followed by its ``:``, and a decoded object has one entry per distinct
  key, so without duplicates the text has exactly as many key separators as
  the decoded objects have entries. The separators are counted in C in a way
  that can over-count (an escaped quote before a colon inside a string) but
  never under-count; only when the numbers differ is the text parsed again
  with a hook that names the duplicate (or finds none: the extra colons sat
  in strings).
* Depth and entry count come from one level-by-level walk whose inner loops
  are comprehensions. (Measured and not taken: a walk built from
  ``itertools`` pieces is slower; cutting the strings out of a canonical
  re-encoding to read depth off the brackets costs as much as the walk.)
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

MAX_NESTING = 100

_DECODER = msgspec.json.Decoder()
_JSON_WHITESPACE = b" \t\n\r"
_CONTAINERS = frozenset({dict, list})


class InvalidJson(ValueError):
    """The bytes are not one acceptable JSON document; the message says why."""


def parse_json(raw: bytes) -> Any:
    """Decode one strict JSON document from UTF-8 bytes; raises :class:`InvalidJson`."""
    try:
        value = _DECODER.decode(raw)
    except RecursionError:
        raise InvalidJson(f"JSON nested deeper than {MAX_NESTING} levels") from None
    except msgspec.DecodeError as exc:
        raise InvalidJson(_decode_problem(str(exc))) from None
    depth, entries = _shape(value)
    if depth > MAX_NESTING:
        raise InvalidJson(f"JSON nested deeper than {MAX_NESTING} levels")
    if entries != _key_separators_at_most(raw):
        _refuse_duplicate_key(raw)
    return value


def _shape(value: Any) -> tuple[int, int]:
    """How deeply arrays and objects nest, and how many entries all objects hold together.

    Level by level, not recursive: the point is to refuse documents that would
    exhaust the recursion limit of whatever walks them later. Stops past
    :data:`MAX_NESTING` (the entry count is then incomplete, and unused).
    """
    depth = entries = 0
    objects = [value] if type(value) is dict else []
    arrays = [value] if type(value) is list else []
    while (objects or arrays) and depth <= MAX_NESTING:
        depth += 1
        entries += sum(map(len, objects))
        children = [child for node in objects for child in node.values() if type(child) in _CONTAINERS]
        children += [child for node in arrays for child in node if type(child) in _CONTAINERS]
        objects = [child for child in children if type(child) is dict]
        arrays = [child for child in children if type(child) is list]
    return depth, entries


def _key_separators_at_most(raw: bytes) -> int:
    """At least the number of key separators in valid JSON ``raw`` (exactly that, unless a string holds ``\\":``).

    A separator is a key's closing quote, optional whitespace and a colon.
    With all whitespace deleted (outside strings it means nothing; inside, it
    can only make more ``":`` pairs) every separator is a ``":``. Done on the
    UTF-8 bytes, where these ASCII characters never occur inside a multi-byte
    character and both steps run at memory speed.
    """
    return raw.translate(None, _JSON_WHITESPACE).count(b'":')


def _refuse_duplicate_key(raw: bytes) -> None:
    """Raise :class:`InvalidJson` naming the duplicate key, if there is one (the counts can differ without).

    The text already decoded once, so ``json.loads`` accepts it too; its
    errors are still refused, never raised as something else.
    """
    try:
        json.loads(raw, object_pairs_hook=_object_without_duplicates)
    except InvalidJson:
        raise
    except (ValueError, RecursionError) as exc:
        raise InvalidJson(f"malformed JSON: {_short(exc)}") from None


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise InvalidJson(f"duplicate key {_short(key)!r} in a JSON object")
            seen.add(key)
    return result


def _decode_problem(message: str) -> str:
    """msgspec's reason in this service's words. It names a position, never a value (which may be patient data)."""
    if "UTF-8" in message:
        return "body is not valid UTF-8"
    if "surrogate" in message:
        return "JSON string holds an unpaired UTF-16 surrogate"
    if "out of range" in message:
        return "a number is too large to represent"
    return f"malformed JSON: {_short(message.removeprefix('JSON is malformed: '))}"


def _short(value: object, limit: int = 80) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
