"""Strict JSON: the one parser for every body a client or a FHIR server sends us.

Refused with :class:`InvalidJson`, whose message says why: bytes that are not
UTF-8, duplicate keys (parsers disagree about which value wins, so a body
could mean one thing to us and another to whoever checked it),
``NaN``/``Infinity``, numbers too large to represent, lone UTF-16 surrogates
(which cannot be encoded again) and nesting deeper than :data:`MAX_NESTING`.

The standard library's decoder does the parse (it refuses control characters
in strings and trailing data itself), with no Python call per object; the
other checks stay off the common path:

* Duplicate keys are found by counting: each key in the text is followed by
  its ``:``, and a decoded object has one entry per distinct key, so without
  duplicates the text has exactly as many key separators as the decoded
  objects have entries. The separators are counted in C in a way that can
  over-count (an escaped quote before a colon inside a string) but never
  under-count; only when the numbers differ is the text parsed again with a
  hook that names the duplicate (or finds none: the extra colons sat in
  strings).
* A lone surrogate can only come from a ``\\uD800``-``\\uDFFF`` escape; only a
  text holding one is encoded again to find out whether it pairs up.
* Depth and entry count come from one level-by-level walk whose inner loops
  are comprehensions.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_NESTING = 100

_JSON_WHITESPACE = b" \t\n\r"
_CONTAINERS = frozenset({dict, list})
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class InvalidJson(ValueError):
    """The bytes are not one acceptable JSON document; the message says why."""


def _refuse_constant(name: str) -> Any:
    raise InvalidJson(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise InvalidJson("a number is too large to represent")
    return value


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)


def parse_json(raw: bytes) -> Any:
    """Decode one strict JSON document from UTF-8 bytes; raises :class:`InvalidJson`."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidJson("body is not valid UTF-8") from None
    try:
        value = _DECODER.decode(text)
    except RecursionError:
        raise InvalidJson(f"JSON nested deeper than {MAX_NESTING} levels") from None
    except InvalidJson:
        raise
    except ValueError as exc:  # the decoder's message names a position, never a value (which may be patient data)
        raise InvalidJson(f"malformed JSON: {_short(exc)}") from None
    depth, entries = _shape(value)
    if depth > MAX_NESTING:
        raise InvalidJson(f"JSON nested deeper than {MAX_NESTING} levels")
    if entries != _key_separators_at_most(raw):
        _refuse_duplicate_key(text)
    if _SURROGATE_ESCAPE.search(raw):
        _refuse_lone_surrogate(value)
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


def _refuse_duplicate_key(text: str) -> None:
    """Raise :class:`InvalidJson` naming the duplicate key, if there is one (the counts can differ without).

    The text already decoded once, so ``json.loads`` accepts it too; its
    errors are still refused, never raised as something else.
    """
    try:
        json.loads(text, object_pairs_hook=_object_without_duplicates)
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


def _refuse_lone_surrogate(value: Any) -> None:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidJson("JSON string holds an unpaired UTF-16 surrogate") from None


def _short(value: object, limit: int = 80) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
