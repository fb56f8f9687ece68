"""Engine benchmark: ``kb.evaluate`` on a patient with a large record, against a bare Flask JSON echo.

A plain script, not a test (no timed tests). Run from the repository root:

    .venv/bin/python bench/engine_bench.py [--iterations 300]

The patient has 100 Conditions, 200 Observations and 20 DiagnosticReports;
the content is the engine's own test topic (tests/engine/content). The echo
is a Flask test client posting the same hook request body to a view that
returns it, measured in the same run, so the ratio says how the engine's
work compares with just moving the JSON through Flask. Target: engine
median <= 5 ms.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from flask import Flask, jsonify, request

from fhir_content import KnowledgeBase
from fhir_content.systems import ICD10CM, LOINC, SNOMED

CONTENT = Path(__file__).resolve().parent.parent / "tests" / "engine" / "content"
# Codes from docs of this project (clinical facts); none but the lipid ones matter to the test content.
OTHER_ICD10CM = ["M17.11", "M16.12", "M81.0", "E55.9", "M86.9", "M00.9", "M87.9", "M05.9", "M45.9", "G90.50", "Z92.3", "C79.51"]
OTHER_LOINC = ["4537-7", "30341-2", "1988-5", "62292-8", "58410-2", "2731-8", "17861-6", "2777-1", "6768-6", "2160-0"]
IMAGING_LOINC = ["30691-0", "24802-1", "30687-8", "24538-1", "28565-0", "24762-7"]


def _day(days_ago: int) -> str:
    return (date.today() - timedelta(days=days_ago)).isoformat()


def _bundle(resources: list[dict]) -> dict:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def build_request() -> dict:
    """A patient-view hook request with a big record; the lipid card and the triglyceride card both fire."""
    conditions = [
        {
            "resourceType": "Condition",
            "id": f"c{i}",
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
            "code": {"coding": [{"system": ICD10CM, "code": OTHER_ICD10CM[i % len(OTHER_ICD10CM)]}]},
            "subject": {"reference": "Patient/p1"},
        }
        for i in range(99)
    ]
    conditions.append(
        {
            "resourceType": "Condition",
            "id": "c-hl",
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
            "code": {"coding": [{"system": SNOMED, "code": "55822004", "display": "Hyperlipidemia"}]},
            "subject": {"reference": "Patient/p1"},
        }
    )
    observations = [
        {
            "resourceType": "Observation",
            "id": f"o{i}",
            "status": "final",
            "code": {"coding": [{"system": LOINC, "code": OTHER_LOINC[i % len(OTHER_LOINC)]}]},
            "subject": {"reference": "Patient/p1"},
            "effectiveDateTime": _day(i * 3),
            "valueQuantity": {"value": 10 + i, "unit": "mg/dL", "system": "http://unitsofmeasure.org", "code": "mg/dL"},
        }
        for i in range(196)
    ]
    for i, (code, value, days) in enumerate([("57698-3", None, 500), ("57698-3", None, 900), ("2571-8", 180, 300), ("2571-8", 640, 7)]):
        observation = {
            "resourceType": "Observation",
            "id": f"lipid{i}",
            "status": "final",
            "code": {"coding": [{"system": LOINC, "code": code}]},
            "subject": {"reference": "Patient/p1"},
            "effectiveDateTime": _day(days),
        }
        if value:
            observation["valueQuantity"] = {"value": value, "unit": "mg/dL", "system": "http://unitsofmeasure.org", "code": "mg/dL"}
        observations.append(observation)
    reports = [
        {
            "resourceType": "DiagnosticReport",
            "id": f"r{i}",
            "status": "final",
            "code": {"coding": [{"system": LOINC, "code": IMAGING_LOINC[i % len(IMAGING_LOINC)]}]},
            "subject": {"reference": "Patient/p1"},
            "effectiveDateTime": _day(i * 20),
            "conclusion": "No acute osseous abnormality.",
        }
        for i in range(20)
    ]
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"patientId": "p1", "userId": "Practitioner/example"},
        "prefetch": {
            "patient": {"resourceType": "Patient", "id": "p1", "birthDate": "1961-07-14", "gender": "female"},
            "conditions": _bundle(conditions),
            "observations": _bundle(observations),
            "diagnosticReports": _bundle(reports),
        },
    }


def measure(fn: Callable[[], object], iterations: int) -> list[float]:
    """Milliseconds per call, after a warm-up."""
    for _ in range(max(10, iterations // 10)):
        fn()
    timings = []
    for _ in range(iterations):
        start = time.perf_counter()
        fn()
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def summary(timings: list[float]) -> tuple[float, float]:
    ordered = sorted(timings)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]


def echo_client():
    app = Flask("echo")

    @app.post("/echo")
    def echo():
        return jsonify(request.get_json())

    return app.test_client()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=300)
    args = parser.parse_args()

    load_start = time.perf_counter()
    kb = KnowledgeBase.load(CONTENT)
    load_ms = (time.perf_counter() - load_start) * 1000
    body = build_request()
    cards = kb.evaluate("lipid-patient-view", context=body["context"], prefetch=body["prefetch"], base_url="http://localhost")
    assert [c["indicator"] for c in cards] == ["info", "warning"], "the benchmark patient must get both cards"

    def engine() -> object:
        return kb.evaluate("lipid-patient-view", context=body["context"], prefetch=body["prefetch"], base_url="http://localhost")

    client = echo_client()

    def echo() -> object:
        return client.post("/echo", json=body)

    engine_median, engine_p95 = summary(measure(engine, args.iterations))
    echo_median, echo_p95 = summary(measure(echo, args.iterations))
    print(f"content load (parse, validate, expand, compile): {load_ms:.0f} ms")
    print("record: 100 Conditions, 200 Observations, 20 DiagnosticReports; cards: 2")
    print(f"engine kb.evaluate   median {engine_median:.2f} ms   p95 {engine_p95:.2f} ms   ({args.iterations} runs)")
    print(f"flask JSON echo      median {echo_median:.2f} ms   p95 {echo_p95:.2f} ms")
    print(f"ratio engine/echo    median {engine_median / echo_median:.2f}")
    print(f"target engine median <= 5 ms: {'met' if engine_median <= 5 else 'NOT met'}")


if __name__ == "__main__":
    main()
