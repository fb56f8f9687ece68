"""The benchmark code must keep working: its workloads are sound and one tiny in-process run succeeds.

No timing is asserted here (speed is measured by ``python -m bench``, never
by the test suite); these tests check what the benchmark's numbers rest on:
the requests are the charts they claim to be, use real codes, make the
service return cards, the report shows every measured target, and a run
leaves its JSON file. Opt-in (``-m bench``), like every test of bench/.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import time
from datetime import date

import pytest
import simple_icd_10_cm as icd10cm

from bench import __main__ as bench_main
from bench import http_load, proc, report, startup
from bench.inprocess import in_process_bench
from bench.tokens import BenchIssuer
from bench.workload import (
    ICD10CM,
    IRRELEVANT_CONDITIONS,
    IRRELEVANT_OBSERVATIONS,
    LAB_PANELS,
    LOINC,
    ORDER_CHART_SIZE,
    RELEVANT_CONDITIONS,
    order_select,
    order_sign,
    patient_view,
    standard_workloads,
)
from cds_hooks.content import load_providers
from plugin import report_text

pytestmark = pytest.mark.bench

TODAY = date(2026, 3, 2)


def resources(bundle: dict) -> list[dict]:
    return [entry["resource"] for entry in bundle["entry"]]


@pytest.fixture(scope="module")
def terminology():
    (provider,) = [p for p in load_providers() if any(s.id == "bme-patient-view" for s in p.services())]
    return provider.knowledge_base.terminology


@pytest.mark.parametrize("n", [10, 100, 1000])
def test_patient_view_chart_has_the_documented_size(n):
    prefetch = patient_view(n, today=TODAY)["prefetch"]
    assert len(resources(prefetch["conditions"])) == n
    assert len(resources(prefetch["observations"])) == 2 * n
    assert len(resources(prefetch["diagnosticReports"])) == n // 5
    assert all(r["resourceType"] == "DiagnosticReport" and ("conclusion" in r or "presentedForm" in r)
               for r in resources(prefetch["diagnosticReports"]))


def test_workloads_are_deterministic_and_seeded():
    assert patient_view(100, today=TODAY) == patient_view(100, today=TODAY)
    assert patient_view(100, seed=1, today=TODAY) != patient_view(100, seed=2, today=TODAY)
    assert order_sign(10, today=TODAY) == order_sign(10, today=TODAY)


@pytest.mark.parametrize(("build", "hook"), [(order_select, "order-select"), (order_sign, "order-sign")])
@pytest.mark.parametrize("orders", [1, 10, 50])
def test_order_requests_carry_the_asked_number_of_drafts(build, hook, orders):
    body = build(orders, today=TODAY)
    assert body["hook"] == hook
    assert len(resources(body["context"]["draftOrders"])) == orders
    assert len(resources(body["prefetch"]["conditions"])) == ORDER_CHART_SIZE


def test_every_icd10cm_code_exists():
    codes = [code for code, _ in IRRELEVANT_CONDITIONS] + [code for code, _, _ in RELEVANT_CONDITIONS]
    assert [code for code in codes if not icd10cm.is_valid_item(code)] == []
    assert all(icd10cm.get_description(code) == name for code, name in IRRELEVANT_CONDITIONS)


def test_the_irrelevant_mix_is_in_no_value_set_of_the_content(terminology):
    codes = [(ICD10CM, code) for code, _ in IRRELEVANT_CONDITIONS] + [(LOINC, row[0]) for row in IRRELEVANT_OBSERVATIONS]
    assert [code for code in codes if terminology.value_sets_for(*code)] == []


def test_the_plain_chart_has_nothing_bme_relevant(terminology):
    prefetch = patient_view(100, today=TODAY, relevant=False)["prefetch"]
    conditions = [r["code"]["coding"][0] for r in resources(prefetch["conditions"])]
    assert len(conditions) == 100
    assert [c for c in conditions if terminology.value_sets_for(c["system"], c["code"])] == []
    reports = [r["code"]["coding"][0] for r in resources(prefetch["diagnosticReports"])]
    imaging = [c for c in reports if any("/ValueSet/imaging-mri" in vs for vs in terminology.value_sets_for(c["system"], c["code"]))]
    assert imaging == []


def test_most_of_a_large_chart_is_irrelevant(terminology):
    conditions = resources(patient_view(1000, today=TODAY)["prefetch"]["conditions"])
    relevant = [c for c in conditions if terminology.value_sets_for(ICD10CM, c["code"]["coding"][0]["code"])]
    assert len(relevant) == len(RELEVANT_CONDITIONS)
    assert {panel for panel, _ in LAB_PANELS} <= {
        r["code"]["coding"][0]["code"] for r in resources(patient_view(100, today=TODAY)["prefetch"]["diagnosticReports"])
    }


def test_one_in_process_iteration_of_every_quick_workload_gives_cards_and_a_report(tmp_path):
    with in_process_bench(tmp_path, f"sqlite:///{tmp_path / 'bench.sqlite3'}") as bench:
        rows = [bench.run(workload, iterations=1, warmup=0).as_json() for workload in standard_workloads(quick=True)]
    assert [row["name"] for row in rows] == [
        "patient-view N=10",
        "patient-view N=100",
        "plain chart N=100 (patient-view)",
        "order-select orders=1",
        "order-select orders=10",
        "order-sign orders=1",
        "order-sign orders=10",
    ]
    assert [row["cards"] > 0 for row in rows] == [True, True, False, True, True, True, True]
    assert all(row["hook_ms"]["count"] == 1 for row in rows)

    results = {"date": report.now(), "machine": report.machine(), "in_process": rows}
    text = report.terminal(results)
    assert "patient-view N=100" in text and "engine median, patient-view N=100" in text
    assert re.search(r"CPU speed [0-9.]+ ms \(a fixed 1M-step Python loop", text)  # figures of other days compare only with it
    assert report.markdown(results).count("| patient-view N=10 |") == 1
    report.write_json(results, tmp_path / "run.json")
    assert json.loads((tmp_path / "run.json").read_text())["in_process"][0]["name"] == "patient-view N=10"


def test_the_unread_engine_timing_reads_every_report_text_anew_and_the_others_do_not(tmp_path, monkeypatch):
    reads: list[str] = []

    class CountingReportText(report_text.ReportText):
        def __init__(self, text: str):
            reads.append(text)
            super().__init__(text)

    monkeypatch.setattr(report_text, "ReportText", CountingReportText)
    report_text.read.cache.clear()
    workload = standard_workloads(quick=True)[0]
    assert workload.name == "patient-view N=10"
    with in_process_bench(tmp_path, f"sqlite:///{tmp_path / 'bench.sqlite3'}") as bench:
        row = bench.run(workload, iterations=3, warmup=0).as_json()
    assert row["engine_unread_ms"]["count"] == 3
    # The first checked call reads each text once; then only the three unread calls read them again.
    assert reads and len(reads) == len(set(reads)) * (1 + 3)


def test_start_up_is_the_median_of_repeated_server_starts_and_the_report_shows_every_run(tmp_path):
    server = startup.server_startup(tmp_path, f"sqlite:///{tmp_path / 'startup.sqlite3'}", BenchIssuer(), runs=2)
    fresh = startup.measure(runs=2)
    runs = server["process_start_to_healthy_runs"]
    assert len(runs) == 2 and server["process_start_to_healthy_seconds"] == round(statistics.median(runs), 3)
    assert len(fresh["create_app_runs"]) == 2 and fresh["create_app_seconds"] > 0

    results = {"date": report.now(), "machine": report.machine(), "http": {"startup": {**server, **fresh, "worker_rss_mb_after_load": [1.0, 1.0]}}}
    text = report.terminal(results)
    assert "first healthy /healthz (gunicorn, 2 workers), median" in text
    assert "runs: " + ", ".join(f"{s:.2f}" for s in runs) in text


@pytest.mark.parametrize(("keep_alive", "connections"), [(False, "new per call"), (True, "keep-alive")])
def test_the_echo_served_by_gunicorn_answers_every_call_and_the_report_names_it(tmp_path, keep_alive, connections):
    """The HTTP ceiling must measure an echo that works: every call answered 200, on new or kept connections."""
    with http_load.echo_server(tmp_path) as server:
        assert http_load.wait_for_workers(server, workers=2) >= 0
        load = http_load.run_load(
            server, "/echo", patient_view(10, today=TODAY), BenchIssuer(), requests=8, processes=1, threads=2, keep_alive=keep_alive
        )
    assert (load.requests, load.errors) == (8, 0)
    row = {**load.as_json(), "served": "bare Flask echo"}
    text = report.terminal({"date": report.now(), "machine": report.machine(), "http": {"setup": "smoke", "loads": {"echo": row}}})
    assert f"bare Flask echo, 2 x {connections}" in text


@pytest.mark.parametrize(("rate", "p99", "met"), [(230.0, 70.0, False), (520.0, 140.0, False), (520.0, 90.0, True)])
def test_the_p99_target_is_met_only_at_the_target_throughput(rate, p99, met):
    load = {"throughput_per_second": rate, "latency_ms": {"p99": p99}}
    found = {t.what: t for t in report.targets({"http": {"loads": {report.PRIMARY_LOAD: load}}})}
    p99_target = next(t for name, t in found.items() if name.startswith("p99 latency"))
    assert p99_target.met is met
    assert f"at {rate:.0f}/s" in p99_target.measured


def test_the_cpu_of_processes_named_like_the_database_is_counted(tmp_path):
    """The HTTP report's database CPU column sums the CPU of the processes with that command name."""
    probe = tmp_path / "bme-cpu-probe"  # a process's command name is its executable's file name
    probe.symlink_to(sys.executable)
    burn = "import sys, time; sys.stdin.readline(); end = time.process_time() + 0.3\nwhile time.process_time() < end: pass\nprint('done', flush=True); sys.stdin.read()"
    child = subprocess.Popen([str(probe), "-c", burn], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.2)
        before = proc.command_cpu_seconds(probe.name)
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "done"
        assert proc.command_cpu_seconds(probe.name) - before >= 0.25
    finally:
        child.stdin.close()
        child.wait(timeout=10)
    assert proc.command_cpu_seconds(probe.name) == 0.0  # gone: nothing of it is counted


def test_a_run_writes_its_figures_with_date_machine_cpu_speed_and_commit(tmp_path, capsys):
    output = tmp_path / "run.json"
    bench_main.main(["--skip-in-process", "--skip-http", "--skip-instructions", "--output", str(output)])

    results = json.loads(output.read_text())
    assert results["date"] and results["quick"] is False
    assert results["machine"]["cpus"] >= 1 and results["machine"]["cpu_speed_ms"] > 0 and results["machine"]["cpu_speed_ms_at_end"] > 0
    assert re.fullmatch(r"[0-9a-f]{40}", results["code"]["commit"]) and isinstance(results["code"]["modified"], bool)
    assert f"results written to {output}" in capsys.readouterr().out


def test_a_run_is_kept_under_bench_results_named_by_its_utc_date_time():
    assert report.results_path("2026-12-04T20:46:05+01:00", quick=False) == report.RESULTS_DIR / "2026-12-04T19-46-05Z.json"
    assert report.results_path("2026-12-04T19:46:05+00:00", quick=True).name == "2026-12-04T19-46-05Z-quick.json"
    assert report.RESULTS_DIR.parts[-2:] == ("bench", "results")
