"""Every RxNorm code of the NSAID safety content is one the project can vouch for, and every name list matches its codes.

RxNorm codes come from two sources only: the product lists shipped in
``plugin/data`` (facts from RxNorm) and the ingredient codes of the clinical
facts (``plugin/build_valuesets.py``). The Library recognises products by
ingredient name when no code matches, so each ingredient of a value set must
also be in the name pattern of the variable that reads that value set.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib.resources import files
from typing import Any

import pytest

from plugin import build_valuesets
from plugin.demo import codes as demo_codes

from .nsaid_patients import NSAID_CASES
from .patients import CASES

RXNORM = build_valuesets.RXNORM
CONTENT = files("plugin") / "content"
DATA = files("plugin") / "data"
PRODUCTS = {**build_valuesets.read_products(DATA / "rxnorm-nsaid-products.tsv"),
            **build_valuesets.read_products(DATA / "rxnorm-anticoagulant-products.tsv")}
INGREDIENTS = {**build_valuesets.NSAID_INGREDIENTS, **build_valuesets.ANTICOAGULANT_INGREDIENTS,
               **build_valuesets.ANTIPLATELET_INGREDIENTS, **build_valuesets.SYSTEMIC_STEROID_INGREDIENTS}
ACETAMINOPHEN = "161"  # the proposed alternative, checked as recorded in docs/bme-content.md


def _json(name: str) -> dict[str, Any]:
    return json.loads((CONTENT / name).read_text(encoding="utf-8"))


def _rxnorm_codes(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if value.get("system") == RXNORM:
            if "code" in value:
                yield value["code"]
            for concept in value.get("concept", ()):
                yield concept["code"]
        for item in value.values():
            yield from _rxnorm_codes(item)
    elif isinstance(value, list):
        for item in value:
            yield from _rxnorm_codes(item)


def _variables() -> dict[str, str]:
    library = _json("Library-nsaid-logic.json")
    return {e["valueExpression"]["name"]: e["valueExpression"]["expression"] for e in library["extension"]}


def test_every_rxnorm_code_in_the_content_is_a_shipped_product_or_a_known_ingredient():
    used = {code for path in CONTENT.iterdir() if path.name.endswith(".json") for code in _rxnorm_codes(json.loads(path.read_text()))}
    assert used - set(PRODUCTS) - set(INGREDIENTS) - {ACETAMINOPHEN} == set()


def test_every_rxnorm_code_of_the_test_patients_is_a_shipped_product_or_a_known_ingredient():
    charts = [r for case in [*CASES, *(e.case for e in NSAID_CASES)] for r in (*case.records, *case.orders)]
    demo = [value for value in vars(demo_codes).values() if isinstance(value, dict)]
    used = set(_rxnorm_codes(charts)) | set(_rxnorm_codes(demo))
    assert used - set(PRODUCTS) - set(INGREDIENTS) - {ACETAMINOPHEN} == set()


def test_ketorolac_value_set_holds_exactly_the_ketorolac_products():
    codes = {c["code"] for c in _json("ValueSet-nsaid-ketorolac.json")["compose"]["include"][0]["concept"]}
    expected = {code for code, name in PRODUCTS.items() if "ketorolac" in name.lower()} | {build_valuesets.KETOROLAC}
    assert codes == expected and len(codes) > 1


@pytest.mark.parametrize(("variable", "ingredients"), [
    ("nsaidDraftOrders", build_valuesets.NSAID_INGREDIENTS),
    ("activeSystemicNsaids", build_valuesets.NSAID_INGREDIENTS),
    ("anticoagulantUse", build_valuesets.ANTICOAGULANT_INGREDIENTS),
    ("antiplateletUse", build_valuesets.ANTIPLATELET_INGREDIENTS),
    ("steroidUse", build_valuesets.SYSTEMIC_STEROID_INGREDIENTS),
])
def test_each_ingredient_is_also_recognised_by_name(variable, ingredients):
    expression = _variables()[variable]
    assert [name for name in ingredients.values() if name not in expression] == []
