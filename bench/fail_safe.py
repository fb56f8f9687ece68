"""``python -m bench.fail_safe``: what a replayed token and a huge report cost a worker (issue 21, points 3 and 4).

Two measurements, in process (Flask's test client, the real BME content, auth
on, SQLite), written to bench/results/fail_safe.json:

- **replay**: a token already used, sent again with a 4 MB body whose report
  is dense with finding words. The ``jti`` is claimed before the body is
  parsed, so the 401 costs the signature check and one insert.
- **huge report**: a patient-view call with that 4 MB report, with the text
  limits (``BME_CDS_MAX_TEXT_CHARS``, ``BME_CDS_MAX_CALL_TEXT_CHARS``) as
  shipped and lifted; with them, the report is left out as too long and the
  warning checks say so.
- **demo worker memory**: ``bme-cds serve`` in demo mode (one gunicorn
  worker) after the largest accepted inputs (the 4 MB report, 6,000
  Observations with 500 Conditions, a 4 MB name), each sent three times;
  the resident memory of the worker against the 150 MB budget.

A measurement, never a test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from pathlib import Path
from statistics import median
from typing import Any

import requests

from bench import http_load, report
from bench.tokens import BenchIssuer
from cds_hooks.app import create_app
from cds_hooks.runtime import EXTENSION_KEY
from cds_hooks.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results" / "fail_safe.json"
PATH = "/cds-services/bme-patient-view"
AUDIENCE = f"http://localhost{PATH}"
REPORT_CHARS = 4_000_000
FINDING_WORDS = "Bone marrow edema in the medial femoral condyle of the left knee. "


def huge_report_call() -> bytes:
    """A patient-view call: knee osteoarthritis and a 4 MB knee MRI report dense with finding words.

    Each call's report differs (a new id at its start), so no call is answered from what an earlier one read.
    """
    subject = {"reference": "Patient/bench-patient"}
    report_resource = {
        "resourceType": "DiagnosticReport", "id": "r1", "status": "final", "subject": subject,
        "code": {"coding": [{"system": "http://loinc.org", "code": "30691-0", "display": "MRI knee without contrast"}]},
        "effectiveDateTime": "2026-11-30", "conclusion": (f"Study {uuid.uuid4()}. " + FINDING_WORDS * (REPORT_CHARS // len(FINDING_WORDS) + 1))[:REPORT_CHARS],
    }
    condition = {"resourceType": "Condition", "id": "oa", "subject": subject,
                 "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M17.11"}]}}
    prefetch = {key: None for key in ("patient", "conditions", "observations", "diagnosticReports", "medicationRequests")}
    prefetch["conditions"] = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": condition}]}
    prefetch["diagnosticReports"] = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": report_resource}]}
    body = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/bench", "patientId": "bench-patient"}, "prefetch": prefetch}
    return json.dumps(body).encode()


def _timed(client: Any, raw: bytes, token: str) -> tuple[float, int]:
    started = time.perf_counter()
    response = client.post(PATH, data=raw, content_type="application/json", headers={"Authorization": f"Bearer {token}"})
    return (time.perf_counter() - started) * 1000, response.status_code


def run(iterations: int) -> dict[str, Any]:
    """Median and worst milliseconds of each measurement, with the statuses seen."""
    issuer, raws = BenchIssuer(), [huge_report_call() for _ in range(iterations + 1)]
    results: dict[str, Any] = {"date": report.now(), "machine": report.machine(), "body_bytes": len(raws[0])}
    with tempfile.TemporaryDirectory(prefix="bme-cds-fail-safe-") as tmp:
        directory = Path(tmp)
        base = Settings(database_url=f"sqlite:///{directory / 'bench.sqlite3'}", instance_dir=str(directory),
                        trusted_issuers=str(issuer.write_trusted_issuers(directory / "issuers.json")),
                        evaluation_time_budget=60.0)
        for label, settings in (("huge report, text limits as shipped", base),
                                ("huge report, text limits lifted", base.with_overrides(max_text_chars=10**8, max_call_text_chars=10**8))):
            app = create_app(settings)
            app.extensions[EXTENSION_KEY].store.migrate()
            client = app.test_client()
            tokens = issuer.mint(AUDIENCE, iterations + 1)
            timings = [_timed(client, raw, token) for raw, token in zip(raws, tokens, strict=True)]
            results[label] = _summary(timings[1:])
            if label.endswith("as shipped"):
                replays = [_timed(client, raw, tokens[0]) for raw in raws[1:]]
                results["replayed token, same 4 MB body"] = _summary(replays)
            app.extensions[EXTENSION_KEY].store.close()
        results["demo worker memory"] = demo_worker_memory(directory, issuer)
    return results


def demo_worker_memory(directory: Path, issuer: BenchIssuer) -> dict[str, Any]:
    """The demo worker's resident memory before and after the largest accepted inputs, and the statuses they got."""
    bodies = [huge_report_call(), _many_resources_call(), _long_name_call()]
    os.environ["BME_CDS_DEMO"] = "1"  # gunicorn_server passes the environment on
    try:
        with http_load.gunicorn_server(directory, f"sqlite:///{directory / 'demo.sqlite3'}", issuer, workers=1) as server:
            before = max(server.worker_rss_mb())
            statuses = set()
            for body in bodies * 3:
                (token,) = issuer.mint(server.base_url + PATH, 1)
                response = requests.post(server.base_url + PATH, data=body, timeout=60,
                                         headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
                statuses.add(response.status_code)
            after = max(server.worker_rss_mb())
    finally:
        del os.environ["BME_CDS_DEMO"]
    return {"rss_mb_before": round(before, 1), "rss_mb_after": round(after, 1), "budget_mb": report.RSS_MB,
            "statuses": sorted(statuses)}


def _many_resources_call() -> bytes:
    body = json.loads(huge_report_call())
    subject = {"reference": "Patient/bench-patient"}
    body["prefetch"]["diagnosticReports"] = None
    body["prefetch"]["observations"] = {"resourceType": "Bundle", "type": "searchset", "entry": [
        {"resource": {"resourceType": "Observation", "id": f"o{i}", "status": "final", "subject": subject,
                      "code": {"coding": [{"system": "http://loinc.org", "code": "2160-0"}]},
                      "valueQuantity": {"value": 1.0 + i, "unit": "mg/dL"}}} for i in range(6000)]}
    body["prefetch"]["conditions"]["entry"] *= 500
    return json.dumps(body).encode()


def _long_name_call() -> bytes:
    body = json.loads(huge_report_call())
    body["prefetch"]["diagnosticReports"] = None
    body["prefetch"]["patient"] = {"resourceType": "Patient", "id": "bench-patient", "name": [{"text": "\U0001f9b4" * 1_000_000}]}
    return json.dumps(body, ensure_ascii=False).encode()


def _summary(timings: list[tuple[float, int]]) -> dict[str, Any]:
    durations = [duration for duration, _ in timings]
    return {"median_ms": round(median(durations), 2), "max_ms": round(max(durations), 2),
            "statuses": sorted({status for _, status in timings})}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fail_safe", description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=10, help="timed calls per measurement")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    results = run(args.iterations)
    for label, value in results.items():
        if isinstance(value, dict) and "median_ms" in value:
            print(f"{label:45} median {value['median_ms']:9.2f} ms  max {value['max_ms']:9.2f} ms  {value['statuses']}")
    memory = results["demo worker memory"]
    print(f"demo worker memory: {memory['rss_mb_before']} MB before, {memory['rss_mb_after']} MB after "
          f"(budget {memory['budget_mb']:g} MB), statuses {memory['statuses']}")
    report.write_json(results, args.output)
    print(f"results written to {args.output}")


if __name__ == "__main__":
    main()
