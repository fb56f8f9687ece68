"""The native versions of fhirpathpy's hottest operations agree with fhirpathpy's own, item for item.

The differential test (tests/test_fhirpath_compiler.py) compares whole
expressions; these compare the building blocks directly on awkward inputs,
and check the assumption that lets member access skip ``propName``.
"""

from __future__ import annotations

import inspect
import json
import random
import re
from decimal import Decimal
from pathlib import Path

import fhirpathpy
import pytest
from fhirpathpy.engine import util
from fhirpathpy.engine.evaluators import create_reduce_member_invocation
from fhirpathpy.engine.invocations.existence import distinct_fn
from fhirpathpy.engine.nodes import FP_DateTime, FP_Quantity, ResourceNode

from fhir_content.expressions import R4_MODEL
from fhir_content.fhirpath_native import MemberAccess, distinct, uniq

CONDITION = {
    "resourceType": "Condition",
    "id": "c1",
    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "1"}], "text": "x"},
    "onsetPeriod": {"start": "2020-01-01"},
    "_recordedDate": {"extension": [{"url": "u", "valueString": "v"}]},
    "note": [{"text": "a"}, {"text": "b"}],
}
ITEMS = [
    "a", "a", "1", 1, True, False, 0, Decimal("1"), Decimal("1.0"), 1.0, None, {"a": 1}, {"a": 1}, {"a": Decimal("1")},
    [1], CONDITION, json.loads(json.dumps(CONDITION)), FP_DateTime("2020-01-01"), FP_DateTime("2020-01-01"),
    FP_Quantity(Decimal(1), "'mg'"), ResourceNode.create_node("a"), ResourceNode.create_node({"a": 1}, "X"),
]


def _node_view(items: list) -> list:
    return [(type(i).__name__, i.path, i.data) if isinstance(i, ResourceNode) else (type(i).__name__, i) for i in items]


@pytest.mark.parametrize("seed", range(50))
def test_uniq_and_distinct_agree_with_fhirpathpy(seed):
    rng = random.Random(seed)
    items = rng.sample(ITEMS, rng.randint(0, 8))
    nodes = [ResourceNode.create_node(i, rng.choice([None, "string", "Condition"])) for i in items]
    for collection in (items, nodes, items + nodes):
        assert [id(i) for i in uniq(collection, {})] == [id(i) for i in util.uniq(collection)]
        assert _node_view(distinct(collection, {})) == _node_view(distinct_fn(None, collection))


def test_a_key_memo_shared_across_calls_changes_nothing():
    memo: dict = {}
    for collection in ([CONDITION, {"a": 1}], [{"a": 1}, CONDITION, json.loads(json.dumps(CONDITION))]):
        assert [id(i) for i in uniq(collection, memo)] == [id(i) for i in util.uniq(collection)]


@pytest.mark.parametrize("seed", range(30))
def test_dicts_keyed_by_id_agree_with_fhirpathpy(seed):
    """Dicts with a unique ``id`` skip serialising; clashing ids (equal or not, same object or not) still agree."""
    rng = random.Random(seed)
    copy = json.loads(json.dumps(CONDITION))
    pool = [CONDITION, copy, {**CONDITION, "note": []}, {"id": "c2"}, {"id": "c2", "x": 1}, {"id": 2}, {"a": 1}, "c1"]
    collection = [rng.choice(pool) for _ in range(rng.randint(0, 8))]
    assert [id(i) for i in uniq(collection, {})] == [id(i) for i in util.uniq(collection)]


@pytest.mark.parametrize("key", ["code", "coding", "onset", "recordedDate", "note", "text", "extension", "start", "id", "nope"])
def test_member_access_agrees_with_fhirpathpy(key):
    fhirpathpy_member = create_reduce_member_invocation(R4_MODEL, key)
    roots = [CONDITION, ResourceNode.create_node(CONDITION["code"], "CodeableConcept"), ResourceNode.create_node("s", "string"), {"x": 1}]
    inputs = roots + [node for root in roots for k in ("code", "onset", "note") for node in create_reduce_member_invocation(R4_MODEL, k)([], root)]
    mine = MemberAccess(R4_MODEL, key, fhirpathpy_member)(inputs)
    theirs = fhirpathpy_member([], inputs[0])
    for item in inputs[1:]:
        theirs = fhirpathpy_member(theirs, item)
    assert _node_view(mine) == _node_view(theirs)


def test_fhirpathpy_reads_prop_name_and_index_only_to_build_prop_names():
    """MemberAccess leaves ResourceNode.propName and .index unset: safe only while fhirpathpy reads them nowhere else."""
    package = Path(inspect.getsourcefile(fhirpathpy)).parent
    reads = set()
    for path in package.rglob("*.py"):
        if "generated" not in path.parts:
            reads |= {(path.name, line.strip()) for line in path.read_text().splitlines() if re.search(r"\.(propName|index)\b(?!\()", line)}
    assert reads == {
        ("nodes.py", "self.propName: str | None = propName"),
        ("nodes.py", "self.index: int | None = index"),
        ("__init__.py", 'f"{res.propName}.{key}" if res.propName else childPath'),
        ("navigation.py", 'f"{res.propName}.{prop}" if res.propName else childPath'),
        ("navigation.py", 'fullPath = f"{res.propName}.{prop[: -len(childPath)]}"'),
    }
