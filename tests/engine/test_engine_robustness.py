"""Malformed EHR data never breaks a hook call: whatever arrives, the engine answers with valid cards."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_engine_cards import assert_no_empty_values

JUNK = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
CODING = st.fixed_dictionaries(
    {},
    optional={
        "system": st.one_of(st.sampled_from(["http://snomed.info/sct", "http://hl7.org/fhir/sid/icd-10-cm", "http://loinc.org"]), JUNK),
        "code": st.one_of(st.sampled_from(["55822004", "E78.5", "e7800", "57698-3", "2571-8"]), JUNK),
    },
)
CONCEPT = st.one_of(st.fixed_dictionaries({}, optional={"coding": st.one_of(st.lists(CODING, max_size=3), JUNK), "text": JUNK}), JUNK)
RESOURCE = st.fixed_dictionaries(
    {"resourceType": st.sampled_from(["Condition", "Observation", "Patient", "OperationOutcome", "DiagnosticReport"])},
    optional={
        "id": st.one_of(st.sampled_from(["a", "b", "p1"]), JUNK),
        "code": CONCEPT,
        "status": st.one_of(st.sampled_from(["final", "amended", "cancelled"]), JUNK),
        "clinicalStatus": CONCEPT,
        "effectiveDateTime": st.one_of(st.sampled_from(["2020-01-01", "2026-11-20T10:00:00Z", "not a date"]), JUNK),
        "valueQuantity": st.one_of(st.fixed_dictionaries({"value": st.integers(0, 2000), "code": st.just("mg/dL")}), JUNK),
        "birthDate": st.one_of(st.sampled_from(["1960", "1960-02", "1960-02-30", "1960-02-03"]), JUNK),
    },
)
BUNDLE = st.fixed_dictionaries({"resourceType": st.just("Bundle")}, optional={"entry": st.one_of(st.lists(st.fixed_dictionaries({"resource": RESOURCE}), max_size=4), JUNK)})
PREFETCH = st.dictionaries(st.sampled_from(["patient", "conditions", "observations", "other"]), st.one_of(RESOURCE, BUNDLE, JUNK), max_size=4)
CONTEXT = st.fixed_dictionaries(
    {},
    optional={
        "patientId": st.one_of(st.just("p1"), JUNK),
        "selections": st.one_of(st.lists(st.sampled_from(["ServiceRequest/a", "ServiceRequest/b"]), max_size=2), JUNK),
        "draftOrders": st.one_of(BUNDLE, JUNK),
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefetch=PREFETCH, context=CONTEXT, plan=st.sampled_from(["lipid-patient-view", "lipid-order-select"]))
def test_any_prefetch_gives_spec_valid_cards(lipid_kb, prefetch, context, plan):
    cards = lipid_kb.evaluate(plan, context=context, prefetch=prefetch, base_url="https://cds.example.org")
    for card in cards:
        assert_no_empty_values(card)
        assert card["indicator"] in ("info", "warning")
