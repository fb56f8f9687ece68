"""``dynamicValue.path`` (``payload[0].contentString``): resolved against the R4B models at load, applied to dicts.

Resolving a path against the ``fhir.resources.R4B`` model of the target
resource at load time catches misspelled elements before the service starts,
and tells whether each step is a list, so the per-request assignment is plain
dict/list work that always yields valid FHIR shapes.
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

_SEGMENT = re.compile(r"^([A-Za-z][A-Za-z0-9]*)(?:\[(\d+)\])?$")


@dataclass(frozen=True)
class Step:
    name: str
    index: int | None
    is_list: bool


class PathError(ValueError):
    pass


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """The element type inside Optional[...] / List[...] / Annotated[...], and whether it is a list."""
    is_list = False
    while True:
        origin = typing.get_origin(annotation)
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if origin is list:
            is_list = True
            annotation = args[0]
        elif origin in (typing.Union, types.UnionType):
            annotation = args[0]
        elif origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        else:
            return annotation, is_list


def _fields_by_json_name(model: Any) -> dict[str, Any]:
    return {(f.alias or name): f for name, f in model.model_fields.items()}


@dataclass(frozen=True)
class ElementPath:
    """A resolved ``dynamicValue`` path of one resource type."""

    text: str
    steps: tuple[Step, ...]

    @classmethod
    def resolve(cls, resource_type: str, text: str) -> ElementPath:
        """Resolve ``text`` against the R4B model; raises :class:`PathError` naming the bad segment."""
        model: Any = get_fhir_model_class(resource_type)
        steps = []
        segments = text.split(".")
        for position, segment in enumerate(segments):
            match = _SEGMENT.match(segment)
            if not match:
                raise PathError(f"{segment!r} is not an element name (with an optional [n] index)")
            if model is None:
                raise PathError(f"{steps[-1].name} is a primitive value and has no element {match[1]!r}")
            field = _fields_by_json_name(model).get(match[1])
            if field is None or match[1] in ("resourceType", "fhir_comments") or match[1].endswith("__ext"):
                raise PathError(f"{resource_type} has no element {'.'.join(segments[: position + 1])!r}")
            element_type, is_list = _unwrap(field.annotation)
            index = int(match[2]) if match[2] is not None else None
            if index is not None and not is_list:
                raise PathError(f"{match[1]} is not a list and cannot take an index")
            klass = element_type.get_model_klass() if hasattr(element_type, "get_model_klass") else None
            steps.append(Step(match[1], index, is_list))
            model = klass
        return cls(text, tuple(steps))

    def assign(self, resource: dict[str, Any], values: list[Any]) -> None:
        """Set the element to ``values`` (a list element takes them all, a single element exactly one).

        Nothing is written for an empty result, so no empty elements appear.
        Raises :class:`PathError` when several values meet a single element.
        """
        if not values:
            return
        *parents, leaf = self.steps
        target = resource
        for step in parents:
            target = _child(target, step)
        if leaf.is_list and leaf.index is None:
            target[leaf.name] = list(values)
            return
        if len(values) > 1:
            raise PathError(f"{self.text} takes one value, the expression gave {len(values)}")
        if leaf.is_list:
            items = target.setdefault(leaf.name, [])
            if leaf.index > len(items):
                raise PathError(f"{self.text}: index {leaf.index} is past the end of the list")
            items[leaf.index : leaf.index + 1] = values
        else:
            target[leaf.name] = values[0]


def _child(target: dict[str, Any], step: Step) -> dict[str, Any]:
    """The object at ``step`` (created when absent); a list step without an index means its first item."""
    if not step.is_list:
        return target.setdefault(step.name, {})
    items = target.setdefault(step.name, [])
    index = step.index or 0
    while len(items) <= index:
        items.append({})
    return items[index]
