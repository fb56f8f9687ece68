"""Hypothesis-generated hook calls against the real BME content: odd data gives cards or a 4xx, never a 500.

The generated charts are FHIR-shaped but hostile: real codes from the shipped
value sets mixed with made-up ones, fields of the wrong JSON type, resources
of the wrong type under a prefetch key, Bundles with malformed entries, MRI
report text with and without bone marrow edema, any unicode. Every answer is
a 200 whose body passes the CDS Hooks response model, or a 412 when an
OperationOutcome, or a resource of another type than its template gives,
stands in for required data. Bodies built as raw JSON text add duplicate keys and nesting
around the 100-level limit, where the answer is known exactly. Large inputs
(a Bundle with thousands of entries, multi-megabyte strings) are answered
with bounded memory.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
import tracemalloc
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_hooks import prefetch
from cds_hooks.hook_request import is_fhir_resource
from cds_hooks.strict_json import MAX_NESTING
from cds_hooks.response_model import validate_cards
from cds_hooks.runtime import EXTENSION_KEY
from support import tally
from support.outcomes import error_of

PATIENT_ID = "fuzz-patient-5d1e0c"
MAX_EXAMPLES = 150
SERVICES = {"bme-patient-view": "patient-view", "bme-order-select": "order-select", "bme-order-sign": "order-sign"}
REPORT_PHRASES = [
    "IMPRESSION: Bone marrow edema in the medial femoral condyle of the left knee.",
    "No bone marrow edema.",
    "Marrow oedema pattern in the talus, possibly a stress reaction.",
    "Bone marrow edema-like signal of the femoral head. Rule out osteonecrosis.",
    "History of bone marrow edema, now resolved.",
    "Subchondral bone marrow lesion with osteoarthritis of the right knee.",
    "Findings suggest osteomyelitis of the calcaneus with surrounding marrow edema.",
]
STATUSES = ["active", "final", "preliminary", "completed", "resolved", "entered-in-error", "draft", "unknown"]
RESOURCE_TYPES = ["Patient", "Condition", "Observation", "DiagnosticReport", "MedicationRequest",
                  "MedicationStatement", "ServiceRequest", "Procedure", "OperationOutcome"]


@pytest.fixture(scope="module")
def client(bme_app):
    return bme_app.test_client()


@pytest.fixture(scope="module")
def shipped_codings(client) -> list[dict[str, str]]:
    """Every coding of every shipped ValueSet, read through the public /fhir endpoints."""
    bundle = client.get("/fhir/ValueSet").get_json()
    codings = []
    for entry in bundle["entry"]:
        expansion = client.get(f"/fhir/ValueSet/{entry['resource']['id']}/$expand").get_json()["expansion"]
        codings += [{"system": c["system"], "code": c["code"]} for c in expansion.get("contains", [])]
    assert len(codings) > 100
    return codings


# -- a chart that produces cards, to mutate --------------------------------------------------------


def _bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def _coded(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


SUBJECT = {"reference": f"Patient/{PATIENT_ID}"}
SEED_PREFETCH: dict[str, Any] = {
    "patient": {"resourceType": "Patient", "id": PATIENT_ID, "birthDate": "1960-05-01", "gender": "female"},
    "conditions": _bundle({
        "resourceType": "Condition", "id": "knee-oa", "subject": SUBJECT,
        "clinicalStatus": _coded("http://terminology.hl7.org/CodeSystem/condition-clinical", "active"),
        "verificationStatus": _coded("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed"),
        "code": _coded("http://snomed.info/sct", "239873007"),  # osteoarthritis of knee
    }),
    "observations": _bundle(),
    "diagnosticReports": _bundle({
        "resourceType": "DiagnosticReport", "id": "knee-mri", "status": "final", "subject": SUBJECT,
        "code": _coded("http://loinc.org", "30691-0"),  # MRI knee
        "effectiveDateTime": "{recent}",
        "conclusion": "IMPRESSION: Bone marrow edema in the medial femoral condyle of the left knee.",
    }),
    "medicationRequests": _bundle({
        "resourceType": "MedicationRequest", "id": "warfarin", "status": "active", "intent": "order", "subject": SUBJECT,
        "medicationCodeableConcept": _coded("http://www.nlm.nih.gov/research/umls/rxnorm", "11289"),
    }),
    "medicationStatements": _bundle(),
}
SEED_DRAFT_ORDERS = {
    "order-sign": {"resourceType": "MedicationRequest", "id": "ibuprofen", "status": "draft", "intent": "order",
                   "subject": SUBJECT, "medicationCodeableConcept": _coded("http://www.nlm.nih.gov/research/umls/rxnorm", "5640")},
    "order-select": {"resourceType": "ServiceRequest", "id": "knee-mri-order", "status": "draft", "intent": "proposal",
                     "subject": SUBJECT, "code": _coded("http://loinc.org", "30691-0")},
}


@pytest.fixture(scope="module")
def seed_prefetch() -> dict[str, Any]:
    """The seed chart with its MRI dated three weeks ago (content rules look at recent reports)."""
    recent = (datetime.now(UTC).date() - timedelta(days=21)).isoformat()
    return json.loads(json.dumps(SEED_PREFETCH).replace("{recent}", recent))


# -- strategies ---------------------------------------------------------------------------------

junk = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20), st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


def mostly(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """The strategy's values three times in four, otherwise a value of a random JSON type."""
    return st.one_of(strategy, strategy, strategy, junk)


@st.composite
def mutated(draw: st.DrawFn, value: Any, codings: list[dict[str, str]]) -> Any:
    """``value`` with a few parts dropped, replaced by junk or other text, recoded, or given another resource type.

    Few mutations, so the chart usually still means something to the rules
    and the odd part meets the code that reads it.
    """
    value = copy.deepcopy(value)
    for _ in range(draw(st.sampled_from([0, 0, 1, 2, 3]))):
        places = list(_places(value))
        if not places:
            break
        container, key = draw(st.sampled_from(places))
        operation = draw(st.sampled_from(["drop", "junk", "text", "recode", "retype"]))
        if operation == "drop" and isinstance(container, dict):
            del container[key]
        elif operation == "recode" and isinstance(container[key], dict) and "code" in container[key]:
            container[key] = draw(st.sampled_from(codings))
        elif operation == "retype" and isinstance(container[key], dict) and "resourceType" in container[key]:
            container[key]["resourceType"] = draw(st.sampled_from(RESOURCE_TYPES))
        elif operation == "text":
            container[key] = draw(st.text(max_size=60))
        else:
            container[key] = draw(junk)
    return value


def _places(value: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) inside ``value``, depth first."""
    found = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found.append((value, key))
        found.extend(_places(item))
    return found


def fresh_resource(codings: list[dict[str, str]]) -> st.SearchStrategy:
    """A FHIR-shaped resource of a random type built from scratch: shipped codes, report text, any field odd."""
    coding = st.one_of(st.sampled_from(codings), st.fixed_dictionaries({"system": st.text(max_size=30),
                                                                        "code": st.text(max_size=12)}))
    concept = st.fixed_dictionaries({}, optional={"coding": mostly(st.lists(mostly(coding), max_size=3)),
                                                   "text": mostly(st.text(max_size=40))})
    moment = st.one_of(st.dates().map(date.isoformat), st.datetimes().map(lambda d: d.isoformat() + "Z"),
                       st.text(max_size=12))
    report = st.one_of(st.sampled_from(REPORT_PHRASES), st.lists(st.sampled_from(REPORT_PHRASES), max_size=4).map(" ".join),
                       st.text(max_size=200))
    attachment = report.map(lambda text: {"contentType": "text/plain", "data": base64.b64encode(text.encode()).decode()})
    fields = {
        "id": st.text(max_size=20),
        "status": mostly(st.sampled_from(STATUSES)),
        "code": mostly(concept),
        "clinicalStatus": mostly(concept),
        "bodySite": mostly(st.lists(mostly(concept), max_size=2)),
        "medicationCodeableConcept": mostly(concept),
        "subject": mostly(st.just(SUBJECT)),
        "effectiveDateTime": mostly(moment),
        "onsetDateTime": mostly(moment),
        "birthDate": mostly(moment),
        "valueQuantity": mostly(st.fixed_dictionaries({"value": mostly(st.floats(allow_nan=False, allow_infinity=False)),
                                                       "unit": st.text(max_size=6)})),
        "conclusion": mostly(report),
        "presentedForm": mostly(st.lists(mostly(attachment), max_size=2)),
        "note": mostly(st.lists(mostly(st.fixed_dictionaries({"text": mostly(report)})), max_size=2)),
    }
    return st.sampled_from(RESOURCE_TYPES).flatmap(
        lambda resource_type: st.fixed_dictionaries({"resourceType": st.just(resource_type)}, optional=fields)
    )


def prefetch_value(seed: Any, codings: list[dict[str, str]]) -> st.SearchStrategy:
    """Usually the seed chart's value mutated; else null, a fresh Bundle, or a fresh resource of any type."""
    fresh = fresh_resource(codings)
    fresh_bundle = st.lists(mostly(st.fixed_dictionaries({"resource": fresh})), max_size=8).map(
        lambda entries: {"resourceType": "Bundle", "type": "searchset", "entry": entries}
    )
    kinds = {"seeded": mutated(seed, codings), "null": st.none(), "fresh": fresh, "fresh bundle": fresh_bundle}
    # Weighted by drawing a kind first: st.one_of would merge repeated branches into one.
    return st.sampled_from(["seeded"] * 9 + ["null", "fresh", "fresh bundle"]).flatmap(kinds.__getitem__)


def hook_body(seed: dict[str, Any], codings: list[dict[str, str]], service_id: str, keys: list[str]) -> st.SearchStrategy:
    hook = SERVICES[service_id]
    context: dict[str, st.SearchStrategy] = {"userId": st.just("Practitioner/fuzz-clinician"),
                                             "patientId": st.just(PATIENT_ID)}
    if hook in SEED_DRAFT_ORDERS:
        draft = st.one_of(mutated(SEED_DRAFT_ORDERS[hook], codings), fresh_resource(codings))
        context["draftOrders"] = st.lists(draft, min_size=1, max_size=3).map(
            lambda resources: {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
        )
    if hook == "order-select":
        context["selections"] = st.just([f"ServiceRequest/{SEED_DRAFT_ORDERS[hook]['id']}"])
    return st.fixed_dictionaries({
        "hook": st.just(hook),
        "hookInstance": st.uuids().map(str),
        "context": st.fixed_dictionaries(context),
        "prefetch": st.fixed_dictionaries({key: prefetch_value(seed[key], codings) for key in keys}),
    })


# -- generated charts against the real content --------------------------------------------------

# Derandomized: the same examples on every run, so a failure is reproducible and CI cannot flake.
FUZZ_SETTINGS = settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                         database=None, derandomize=True)

OUTCOMES: Counter[str] = Counter()


@FUZZ_SETTINGS
@given(data=st.data(), service_id=st.sampled_from(sorted(SERVICES)))
def test_generated_charts_give_valid_cards_or_a_client_error(client, shipped_codings, seed_prefetch, bme_app, data,
                                                             service_id):
    service = next(s for s in bme_app.extensions[EXTENSION_KEY].registry.definitions() if s.id == service_id)
    body = data.draw(hook_body(seed_prefetch, shipped_codings, service_id, list(service.prefetch)))
    sent = body["prefetch"].values()
    not_a_resource = any(value is not None and not is_fhir_resource(value) for value in sent)

    response = client.post(f"/cds-services/{service_id}", json=body)

    if not_a_resource:  # e.g. resourceType replaced by a number: the one thing the service refuses outright
        assert response.status_code == 400 and error_of(response)["field"].startswith("prefetch."), response.get_json()
        OUTCOMES["400"] += 1
    elif response.status_code == 412:  # required data stands in as an OperationOutcome or another type than asked for
        unusable = [key for key, value in body["prefetch"].items() if is_fhir_resource(value) and (
            value["resourceType"] == "OperationOutcome"
            or value["resourceType"] != (prefetch.expected_type(service.prefetch[key]) or value["resourceType"]))]
        assert unusable, response.get_json()
        OUTCOMES["412"] += 1
    else:
        assert response.status_code == 200, response.get_json()
        validate_cards(response.get_json())
        OUTCOMES["cards" if response.get_json()["cards"] else "no cards"] += 1
    tally.count(tally.FUZZ_CASES)


def test_the_generated_charts_reached_the_card_rules():
    """Not vacuous: most generated charts were evaluated, and a good share of them produced cards."""
    if not OUTCOMES:
        pytest.skip("runs after test_generated_charts_give_valid_cards_or_a_client_error")
    print(f"generated charts: {dict(OUTCOMES)}")
    assert OUTCOMES["cards"] >= MAX_EXAMPLES // 10, OUTCOMES
    # Two in five: the rest are refused on purpose (400: a value that is not a resource, 412: one of another type).
    assert OUTCOMES["cards"] + OUTCOMES["no cards"] >= MAX_EXAMPLES * 2 // 5, OUTCOMES


# -- raw JSON text: duplicate keys and nesting, where the right answer is known -------------------

# A JSON object as a list of (key, value) pairs, so a key can occur twice.
json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10))
pairs_tree = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda items: ("array", items)),
        st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]), inner), max_size=4).map(lambda pairs: ("object", pairs)),
    ),
    max_leaves=20,
)


def render(node: Any) -> str:
    if isinstance(node, tuple) and node[0] == "array":
        return "[" + ",".join(render(item) for item in node[1]) + "]"
    if isinstance(node, tuple) and node[0] == "object":
        return "{" + ",".join(f"{json.dumps(key)}:{render(value)}" for key, value in node[1]) + "}"
    return json.dumps(node)


def has_duplicate_key(node: Any) -> bool:
    if isinstance(node, tuple) and node[0] == "object":
        keys = [key for key, _ in node[1]]
        return len(keys) != len(set(keys)) or any(has_duplicate_key(value) for _, value in node[1])
    if isinstance(node, tuple) and node[0] == "array":
        return any(has_duplicate_key(item) for item in node[1])
    return False


def depth(node: Any) -> int:
    if isinstance(node, tuple):
        children = [value for _, value in node[1]] if node[0] == "object" else node[1]
        return 1 + max((depth(child) for child in children), default=0)
    return 0


def nested(levels: int, tree: Any) -> Any:
    for level in range(levels):
        tree = ("array", [tree]) if level % 2 else ("object", [("n", tree)])
    return tree


def empty_chart_call(extension_json: str) -> bytes:
    """A patient-view call whose prefetch says "no data"; the generated JSON sits in extension.x."""
    prefetch = {key: None for key in ("patient", "conditions", "observations", "diagnosticReports", "medicationRequests")}
    head = json.dumps({"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
                       "context": {"userId": "Practitioner/p", "patientId": PATIENT_ID}, "prefetch": prefetch})
    return (head[:-1] + ', "extension": {"x": ' + extension_json + "}}").encode()


@FUZZ_SETTINGS
@given(tree=pairs_tree, extra_levels=st.integers(0, 130))
def test_duplicate_keys_and_deep_nesting_are_400_and_everything_else_is_answered(client, tree, extra_levels):
    tree = nested(extra_levels, tree)
    refused = has_duplicate_key(tree) or 2 + depth(tree) > MAX_NESTING  # body and extension are two levels

    response = client.post("/cds-services/bme-patient-view", data=empty_chart_call(render(tree)),
                           content_type="application/json")

    assert response.status_code == (400 if refused else 200), response.get_json()
    tally.count(tally.FUZZ_CASES)


# -- big inputs, bounded memory ---------------------------------------------------------------------


def big_calls() -> list[bytes]:
    """Calls near the 5 MiB limit: thousands of Bundle entries, multi-megabyte strings, a long unicode name.

    The Observations do not match the content's value sets; the 500 Conditions
    do (osteoporosis), so each one goes through the content's FHIRPath rules.
    """
    observations = {"resourceType": "Bundle", "type": "searchset", "entry": [
        {"resource": {"resourceType": "Observation", "id": f"o{i}", "status": "final", "subject": SUBJECT,
                      "code": _coded("http://loinc.org", "2160-0"), "valueQuantity": {"value": 1.0 + i, "unit": "mg/dL"}}}
        for i in range(6000)
    ]}
    conditions = _bundle(*[
        {"resourceType": "Condition", "id": f"c{i}", "subject": SUBJECT, "code": _coded("http://snomed.info/sct", "64859006")}
        for i in range(500)
    ])
    report = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {
        "resourceType": "DiagnosticReport", "id": "r1", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "24590-2"}]},
        "conclusion": ("Bone marrow edema in the medial femoral condyle. " * 90_000)[:4_200_000]}}]}

    def call(**prefetch: Any) -> bytes:
        full = {key: None for key in ("patient", "conditions", "observations", "diagnosticReports", "medicationRequests")}
        full.update(prefetch)
        return json.dumps({"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
                           "context": {"userId": "Practitioner/p", "patientId": PATIENT_ID}, "prefetch": full},
                          ensure_ascii=False).encode()

    return [call(observations=observations, conditions=conditions), call(diagnosticReports=report),
            call(patient={"resourceType": "Patient", "id": PATIENT_ID, "name": [{"text": "\U0001f9b4" * 1_000_000}]})]


@pytest.fixture
def patient_client(bme_app):
    """The fuzz app's client with no evaluation time budget to speak of: this test measures memory, not time."""
    shipped = bme_app.extensions[EXTENSION_KEY]
    bme_app.extensions[EXTENSION_KEY] = dataclasses.replace(
        shipped, settings=shipped.settings.with_overrides(evaluation_time_budget=600.0))
    yield bme_app.test_client()
    bme_app.extensions[EXTENSION_KEY] = shipped


def test_big_inputs_are_answered_with_bounded_memory(patient_client):
    client = patient_client
    calls = big_calls()
    assert all(1_000_000 < len(raw) < 5 * 1024 * 1024 for raw in calls)
    for raw in calls:  # warm up: first-use caches are not a leak
        assert client.post("/cds-services/bme-patient-view", data=raw, content_type="application/json").status_code == 200

    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for _ in range(2):
            for raw in calls:
                response = client.post("/cds-services/bme-patient-view", data=raw, content_type="application/json")
                assert response.status_code == 200
                validate_cards(response.get_json())
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # One 5 MiB body parses into some tens of MB of Python objects; six calls must not add up.
    assert peak - before < 256 * 1024 * 1024, f"peak {peak - before} bytes above the start"
    assert after - before < 16 * 1024 * 1024, f"{after - before} bytes still held after the batch"
    tally.count(tally.FUZZ_CASES, 3 * len(calls))
    print(f"big inputs: traced peak {peak - before} bytes, held after {after - before} bytes")
