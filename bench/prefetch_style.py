"""``python -m bench.prefetch_style``: what CDS Hooks 3.0 prefetch templates save on the benchmark chart.

With ``BME_CDS_PREFETCH_STYLE=3.0`` the observation search is bounded to two
years (:mod:`cds_hooks.prefetch_style`). For each patient-view chart of the
benchmark workload this sends the prefetch a client would answer to each
template style - the full chart, or its observations of the last two years -
and measures the prefetch payload (bytes of JSON) and the in-process hook
call (Flask test client, auth off, interleaved call by call), and whether
the cards stay the same. Figures go to
``bench/results/<date-time>-prefetch-style.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import tempfile
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench import report
from bench.stats import Summary, Timed, time_interleaved
from bench.workload import PATIENT_SIZES, patient_view
from cds_hooks import observability
from cds_hooks.app import create_app
from cds_hooks.prefetch_style import LOOKBACK
from cds_hooks.runtime import EXTENSION_KEY
from cds_hooks.settings import Settings

URL = "/cds-services/bme-patient-view"


def measure(iterations: int, workdir: Path) -> list[dict[str, Any]]:
    """One row per chart size: payload bytes and hook-call milliseconds for the 2.0 and 3.0 templates."""
    settings = Settings(database_url=f"sqlite:///{workdir / 'prefetch-style.sqlite3'}", instance_dir=str(workdir),
                        auth_enabled=False, suppression_enabled=False)
    with (workdir / "service.log").open("w") as log, contextlib.redirect_stderr(log):  # the access log, off the terminal
        app = create_app(settings)
        try:
            return _measure(app, iterations)
        finally:
            app.extensions[EXTENSION_KEY].store.close()
            observability.configure_logging(settings.log_format)


def _measure(app: Any, iterations: int) -> list[dict[str, Any]]:
    app.extensions[EXTENSION_KEY].store.migrate()
    client = app.test_client()
    today = date.today()
    rows = []
    for size in PATIENT_SIZES:
        bodies = {"2.0": patient_view(size, today=today)}
        bodies["3.0"] = within_lookback(bodies["2.0"], today)
        calls = {style: Timed(lambda raw: _post(client, raw), lambda i, b=body: _fresh(b)) for style, body in bodies.items()}
        samples = time_interleaved(calls, iterations, warmup=3)
        cards = {style: [card["summary"] for card in _post(client, _fresh(body))["cards"]] for style, body in bodies.items()}
        rows.append({
            "name": f"patient-view N={size}",
            "same_cards": cards["2.0"] == cards["3.0"],
            **{f"prefetch_bytes_{style.replace('.', '_')}": len(json.dumps(body["prefetch"]).encode()) for style, body in bodies.items()},
            **{f"hook_ms_{style.replace('.', '_')}": vars(Summary.of(samples[style])) for style in bodies},
        })
    return rows


def within_lookback(body: dict[str, Any], today: date) -> dict[str, Any]:
    """The request a client answering the 3.0 templates sends: bounded types hold only their last days."""
    bounded = copy.deepcopy(body)
    for resource_type, (_, days) in LOOKBACK.items():
        since = (today - timedelta(days=days)).isoformat()
        for value in bounded["prefetch"].values():
            if value.get("resourceType") == "Bundle":
                value["entry"] = [
                    e for e in value.get("entry", [])
                    if e["resource"]["resourceType"] != resource_type or e["resource"].get("effectiveDateTime", "") >= since
                ]
                value["total"] = len(value["entry"])
    return bounded


def _fresh(body: dict[str, Any]) -> bytes:
    return json.dumps({**body, "hookInstance": str(uuid.uuid4())}).encode()


def _post(client: Any, raw: bytes) -> dict[str, Any]:
    response = client.post(URL, data=raw, content_type="application/json")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_json()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.prefetch_style", description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=30, help="timed calls per style and chart (default 30)")
    parser.add_argument("--output", type=Path, help="JSON file to write (default bench/results/<date-time>-prefetch-style.json)")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"date": report.now(), "machine": report.machine(), "code": report.code_version()}
    with tempfile.TemporaryDirectory(prefix="bme-cds-bench-") as tmp:
        results["prefetch_style"] = measure(args.iterations, Path(tmp))
    for row in results["prefetch_style"]:
        print(f"{row['name']:>22}: prefetch {row['prefetch_bytes_2_0']:>8} -> {row['prefetch_bytes_3_0']:>8} bytes, "
              f"hook median {row['hook_ms_2_0']['median']:.1f} -> {row['hook_ms_3_0']['median']:.1f} ms, "
              f"same cards: {row['same_cards']}")
    output = args.output or report.results_path(results["date"], quick=False).with_name(
        report.results_path(results["date"], quick=False).stem + "-prefetch-style.json")
    report.write_json(results, output)
    print(f"results written to {output}")


if __name__ == "__main__":
    main()
