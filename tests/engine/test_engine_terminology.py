"""Value-set expansion and membership: what decides whether a patient's code counts."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.valueset import ValueSet

from fhir_content.systems import ICD10CM, LOINC, SNOMED
from engine_builders import concepts, value_set, vs_url
from fhir_content import ContentLoadError, UnknownValueSet
from fhir_content.terminology import normalize_code, normalize_system


def icd_filter(op: str, value: str) -> dict:
    return {"system": ICD10CM, "filter": [{"property": "concept", "op": op, "value": value}]}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://snomed.info/sct", SNOMED),
        ("http://snomed.info/sct/900000000000207008/version/20240301", SNOMED),
        ("urn:oid:2.16.840.1.113883.6.96", SNOMED),
        ("urn:oid:2.16.840.1.113883.6.1", LOINC),
        ("urn:oid:2.16.840.1.113883.6.88", "http://www.nlm.nih.gov/research/umls/rxnorm"),
        ("urn:oid:2.16.840.1.113883.6.90", ICD10CM),
        ("http://hl7.org/fhir/sid/icd-10", "http://hl7.org/fhir/sid/icd-10"),
        ("http://hl7.org/fhir/sid/icd-10-cm/", ICD10CM),
    ],
)
def test_system_spellings_normalise_to_one_canonical_url(given, expected):
    assert normalize_system(given) == expected


def test_icd10_codes_normalise_case_and_dot():
    assert normalize_code(ICD10CM, "m1711") == "M17.11"
    assert normalize_code(ICD10CM, " M17.11 ") == "M17.11"
    assert normalize_code(ICD10CM, "M17") == "M17"
    assert normalize_code(LOINC, "2571-8") == "2571-8"


def test_is_a_filter_matches_descendants_and_the_code_itself(load):
    kb = load(value_set("knee-oa", icd_filter("is-a", "M17")))
    assert kb.terminology.contains(vs_url("knee-oa"), ICD10CM, "M17.11")
    assert kb.terminology.contains(vs_url("knee-oa"), ICD10CM, "M17")
    assert not kb.terminology.contains(vs_url("knee-oa"), ICD10CM, "M16.11")


def test_descendent_of_filter_excludes_the_code_itself(load):
    kb = load(value_set("knee-oa", icd_filter("descendent-of", "M17")))
    assert kb.terminology.contains(vs_url("knee-oa"), ICD10CM, "M17.11")
    assert not kb.terminology.contains(vs_url("knee-oa"), ICD10CM, "M17")


def test_undotted_lower_case_and_oid_codings_match(load):
    kb = load(value_set("knee-oa", icd_filter("is-a", "M17")))
    assert kb.terminology.contains(vs_url("knee-oa"), "urn:oid:2.16.840.1.113883.6.90", "m1711")


def test_who_icd10_is_not_icd10cm(load):
    kb = load(value_set("knee-oa", icd_filter("is-a", "M17")))
    assert not kb.terminology.contains(vs_url("knee-oa"), "http://hl7.org/fhir/sid/icd-10", "M17.11")


def test_snomed_edition_uri_and_oid_match_plain_snomed(load):
    kb = load(value_set("hl", concepts(SNOMED, "55822004")))
    assert kb.terminology.contains(vs_url("hl"), "http://snomed.info/sct/731000124108", "55822004")
    assert kb.terminology.contains(vs_url("hl"), "urn:oid:2.16.840.1.113883.6.96", "55822004")


def test_include_value_set_and_exclude(load):
    kb = load(
        value_set("osteo", icd_filter("is-a", "M16"), icd_filter("is-a", "M17")),
        value_set(
            "osteo-not-bilateral",
            {"valueSet": [vs_url("osteo")]},
            exclude=[concepts(ICD10CM, "M17.0", "M16.0")],
        ),
    )
    terminology = kb.terminology
    assert terminology.contains(vs_url("osteo-not-bilateral"), ICD10CM, "M17.11")
    assert terminology.contains(vs_url("osteo-not-bilateral"), ICD10CM, "M16.11")
    assert not terminology.contains(vs_url("osteo-not-bilateral"), ICD10CM, "M17.0")
    assert terminology.contains(vs_url("osteo"), ICD10CM, "M17.0")


def test_versioned_canonical_resolves_and_plain_url_means_latest(load):
    kb = load(
        value_set("tg--1", concepts(LOINC, "2571-8"), version="1.0.0", url_id="tg"),
        value_set("tg--2", concepts(LOINC, "57698-3"), version="1.10.0", url_id="tg"),
    )
    terminology = kb.terminology
    assert terminology.contains(vs_url("tg") + "|1.0.0", LOINC, "2571-8")
    assert not terminology.contains(vs_url("tg") + "|1.10.0", LOINC, "2571-8")
    assert terminology.contains(vs_url("tg"), LOINC, "57698-3")  # 1.10.0 is newer than 1.0.0
    assert terminology.value_sets_for(LOINC, "57698-3") == {vs_url("tg"), vs_url("tg") + "|1.10.0"}
    assert terminology.value_sets_for(LOINC, "2571-8") == {vs_url("tg") + "|1.0.0"}


def test_unknown_value_set_is_a_key_error(load):
    kb = load(value_set("hl", concepts(SNOMED, "55822004")))
    with pytest.raises(KeyError):
        kb.terminology.contains(vs_url("nope"), SNOMED, "55822004")
    with pytest.raises(UnknownValueSet):
        kb.terminology.expand("nope")


def test_expand_returns_a_valid_value_set_with_displays(load):
    kb = load(value_set("hl", concepts(SNOMED, "55822004"), concepts(ICD10CM, "E78.5")))
    expanded = kb.terminology.expand("hl")  # by id
    ValueSet.model_validate(expanded)
    assert expanded["expansion"]["total"] == 2
    icd = next(c for c in expanded["expansion"]["contains"] if c["system"] == ICD10CM)
    assert icd == {"system": ICD10CM, "code": "E78.5", "display": "Hyperlipidemia, unspecified"}
    assert kb.terminology.expand(vs_url("hl"))["id"] == "hl"


def test_nonexistent_icd10cm_code_is_a_load_problem(load):
    with pytest.raises(ContentLoadError) as info:
        load(value_set("bad", concepts(ICD10CM, "M17.99")))
    assert [str(p) for p in info.value.problems] == [
        "ValueSet-bad.json: $.compose.include[0].concept[0].code: M17.99 is not an ICD-10-CM code"
    ]


def test_unsupported_filter_and_whole_system_are_load_problems(load):
    with pytest.raises(ContentLoadError) as info:
        load(
            value_set("snomed-filter", {"system": SNOMED, "filter": [{"property": "concept", "op": "is-a", "value": "64859006"}]}),
            value_set("whole-loinc", {"system": LOINC}),
        )
    paths = {(p.file, p.path) for p in info.value.problems}
    assert ("ValueSet-snomed-filter.json", "$.compose.include[0].filter[0]") in paths
    assert ("ValueSet-whole-loinc.json", "$.compose.include[0]") in paths


def test_value_set_cycle_is_a_load_problem(load):
    with pytest.raises(ContentLoadError) as info:
        load(
            value_set("a", concepts(LOINC, "2571-8"), {"valueSet": [vs_url("b")]}),
            value_set("b", {"valueSet": [vs_url("a")]}),
        )
    assert any("cycle" in p.message for p in info.value.problems)

