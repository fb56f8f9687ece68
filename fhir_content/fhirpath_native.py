"""fhirpathpy's hottest operations re-implemented on its own data model, giving exactly its results.

The compiled evaluator (:mod:`fhir_content.fhirpath_compiler`) spends most of
its time in a few of fhirpathpy's functions, which are written for clarity,
not speed: member access re-derives the model path of every child and builds
a ``propName`` string for it, ``|`` and ``distinct()`` serialise every item
with ``json.dumps`` on every call (resources included), and ``=`` builds type
information for both operands before comparing two strings. The versions
here take the same inputs and give the same outputs (the same
:class:`~fhirpathpy.engine.nodes.ResourceNode` types and paths, the same
order and the same representative of duplicates) and hand everything unusual
back to fhirpathpy:

- member access resolves a child's model path once per parent path and key
  instead of once per item; only plain ``dict`` data is handled here. It
  leaves ``propName`` and ``index`` unset: fhirpathpy (the pinned version) reads them only
  to build the ``propName`` of a child, never for a result, type or
  comparison (``tests/test_fhirpath_native.py`` checks that it still does);
- de-duplication keys a ``dict`` by its ``json.dumps`` text computed once per
  object and evaluation (``KeyMemo``), a string by itself, and anything else
  exactly as fhirpathpy does. A resource's text is computed only when another
  object in the collection has the same ``id``: dicts with different ``id``
  strings never have the same text, so resources from the data index (one
  object per type and id) are de-duplicated without serialising any;
- ``=`` and ``!=`` compare one string, boolean or integer with another
  directly; everything else (dates, quantities, decimals, resources, lists
  of several items) goes to fhirpathpy's ``equality``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from fhirpathpy.engine.invocations.equality import equality
from fhirpathpy.engine.invocations.existence import distinct_fn
from fhirpathpy.engine.nodes import FP_Quantity, ResourceNode

#: Per evaluation: ``id(dict)`` -> (the dict, its fhirpathpy de-duplication key). Holding the dict keeps its id unique.
KeyMemo = dict[int, tuple[Any, str]]
Reducer = Callable[[list, Any], list]

_SIMPLE = (str, bool, int)  # compared by Python equality exactly as fhirpathpy's equality ends up comparing them
_QUANTITY_PATHS = ("Quantity", "System.Quantity")  # nodes fhirpathpy's equality turns into FP_Quantity
_BY_ID = object()  # tags the key of a dict keyed by its unique ``id`` (see _keys)
PATH_CACHE_LIMIT = 512  # parent paths come from resource types in request data: bound what is remembered


def one(item: Any) -> list:
    """fhirpathpy's ``arraify`` of one value: a list as is, ``None`` as nothing, anything else in a list."""
    if isinstance(item, list):
        return item
    return [] if item is None else [item]


class MemberAccess:
    """``collection.key`` on fhirpathpy's data model (its ``create_reduce_member_invocation``, one key)."""

    __slots__ = ("_key", "_underscore", "_model", "_fallback", "_fields")

    def __init__(self, model: Mapping[str, Any], key: str, fallback: Reducer):
        self._key = key
        self._underscore = "_" + key
        self._model = model
        self._fallback = fallback
        self._fields: dict[str | None, tuple[tuple[str, str, str], ...]] = {}

    def __call__(self, data: list) -> list:
        out: list = []
        for item in data:
            if type(item) is dict:
                path = item.get("resourceType") if "resourceType" in item else None
                value = item
            elif type(item) is ResourceNode and type(item.data) is dict:
                path, value = item.path, item.data
            else:
                out = self._fallback(out, item)
                continue
            if path is not None and type(path) is not str:
                out = self._fallback(out, item)
                continue
            fields = self._fields.get(path)
            if fields is None:
                fields = self._resolve(path)
            for name, underscore, child_path in fields:
                found = value.get(name)
                found_ = value.get(underscore)
                if found is None and found_ is None:
                    continue
                for added in (found, found_):
                    if added is None:
                        continue
                    if type(added) is list:
                        out.extend(ResourceNode.create_node(x, child_path) for x in added)
                    else:
                        out.append(ResourceNode.create_node(added, child_path))
                break
        return out

    def _resolve(self, parent_path: str | None) -> tuple[tuple[str, str, str], ...]:
        """The (field, ``_field``, child type path) candidates under one parent path, in fhirpathpy's order."""
        model, key = self._model, self._key
        child = f"{parent_path}.{key}" if parent_path else f"_.{key}"
        child = model["pathsDefinedElsewhere"].get(child, child)
        choices = model["choiceTypePaths"].get(child)
        path2type = model["path2Type"]
        if choices:
            fields = tuple((key + t, "_" + key + t, path2type.get(child + t, child + t)) for t in choices)
        else:
            if key == "extension":
                child = "Extension"
            fields = ((key, self._underscore, path2type.get(child, child)),)
        if len(self._fields) < PATH_CACHE_LIMIT:
            self._fields[parent_path] = fields
        return fields


def _key(item: Any, memo: KeyMemo) -> Any:
    """fhirpathpy's ``uniq`` key of one item, or an equivalent one: equal exactly when fhirpathpy's are.

    Strings are their own key: fhirpathpy's key of a string is its JSON text,
    which starts with a quote, as no other item's key does; other keys are
    wrapped in a tuple so they never equal a string. A ``ResourceNode`` mixed
    with other items is keyed by ``str()``, its identity.
    """
    kind = type(item)
    if kind is str:
        return item
    if kind is ResourceNode:
        return (None, id(item))
    if kind is dict:
        known = memo.get(id(item))
        if known is None:
            known = memo[id(item)] = (item, _dumps(item))
        return (known[1],)
    return (_dumps(item),)


def _dumps(item: Any) -> str:
    try:
        return json.dumps(item, sort_keys=True)
    except TypeError:
        return str(item)


def _keys(items: list, memo: KeyMemo) -> list:
    """The de-duplication key of each item, serialising only the dicts that share an ``id`` with another object.

    JSON-equal dicts have equal ``id`` values, so a dict with a string ``id``
    that no other object in ``items`` has can be keyed by that ``id`` alone
    (a key no other kind of item has); only objects whose ``id`` clashes get
    their full ``json.dumps`` key.
    """
    keys: list = []
    owners: dict[str, int] = {}
    clashes: set[str] = set()
    for item in items:
        if type(item) is dict and type(rid := item.get("id")) is str:
            if owners.setdefault(rid, id(item)) != id(item):
                clashes.add(rid)
            keys.append((_BY_ID, rid))
        else:
            keys.append(_key(item, memo))
    if clashes:
        keys = [_key(item, memo) if type(key) is tuple and key[0] is _BY_ID and key[1] in clashes else key for item, key in zip(items, keys)]
    return keys


def uniq(items: list, memo: KeyMemo) -> list:
    """fhirpathpy's ``util.uniq``: first position of each key, holding the last item with that key."""
    positions: dict[Any, int] = {}
    out: list = []
    for item, key in zip(items, _keys(items, memo)):
        position = positions.get(key)
        if position is None:
            positions[key] = len(out)
            out.append(item)
        else:
            out[position] = item
    return out


def distinct(items: list, memo: KeyMemo) -> list:
    """fhirpathpy's ``distinct_fn`` (and so ``|``): nodes de-duplicated by their data and re-wrapped without a path."""
    if all(isinstance(item, ResourceNode) for item in items):
        return [ResourceNode.create_node(data) for data in uniq([item.data for item in items], memo)]
    if all(isinstance(item, FP_Quantity) for item in items):
        return distinct_fn(None, items)  # quantities: fhirpathpy's unit conversions
    return uniq(items, memo)


def _simple(item: Any) -> Any:
    """The value ``=`` compares when it is a string, boolean or integer, else ``None``."""
    if type(item) is ResourceNode:
        if item.path in _QUANTITY_PATHS:
            return None
        item = item.data
    return item if type(item) in _SIMPLE else None


def equal(a: list, b: list) -> bool | None:
    """fhirpathpy's ``equality`` of two non-empty collections (``None``: unknown, as for dates of different precision)."""
    if len(a) == 1 and len(b) == 1:
        x, y = _simple(a[0]), _simple(b[0])
        if x is not None and y is not None:
            return x == y
    return equality(None, a, b)
