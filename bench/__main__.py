"""``python -m bench`` (``./dev bench``): every benchmark, a table in the terminal, a JSON file in bench/results/.

Benchmarks measure; they never pass or fail the test suite. Each run writes
its figures, with the date, the machine and its CPU-speed figure, to
``bench/results/<date-time>.json``; committed, these files are the project's
performance history (docs/performance.md). ``--quick`` (smaller charts, fewer
iterations, a shorter load) is for trying the tool, not for comparing.
``--markdown`` also prints the tables in Markdown.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any

from bench import http_load, instructions, report, startup
from bench.inprocess import in_process_bench
from bench.stats import cpu_speed_ms, growth_exponent
from bench.tokens import BenchIssuer
from bench.workload import patient_view, standard_workloads

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
#: The chart size of the throughput test.
LOAD_CHART_SIZE = 10
LOAD_PATH = "/cds-services/bme-patient-view"
#: The workloads whose instructions are counted: the throughput test's chart and the engine target's.
COUNTED_WORKLOADS = (f"patient-view N={LOAD_CHART_SIZE}", "patient-view N=100")


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    iterations = args.iterations or (30 if args.quick else 200)
    results: dict[str, Any] = {"date": report.now(), "machine": report.machine(), "code": report.code_version(), "quick": args.quick}
    with tempfile.TemporaryDirectory(prefix="bme-cds-bench-") as tmp:
        workdir = Path(tmp)
        database_url = args.database_url or f"sqlite:///{workdir / 'in-process.sqlite3'}"
        if not args.skip_in_process:
            results["in_process"], results["in_process_database"] = _in_process(database_url, workdir, args, iterations)
            results["scaling"] = _scaling(results["in_process"])
        if not args.skip_instructions:
            results["instructions"] = _instructions(database_url, args)
        if not args.skip_http:
            results["http"] = _over_http(workdir, args)
    results["machine"]["cpu_speed_ms_at_end"] = round(cpu_speed_ms(), 1)
    print(report.terminal(results))
    if args.markdown:
        print("\n" + report.markdown(results))
    output = args.output or report.results_path(results["date"], quick=args.quick)
    report.write_json(results, output)
    print(f"\nresults written to {output}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller charts, fewer iterations, shorter load")
    parser.add_argument("--iterations", type=int, help="timed calls per in-process measurement (default 200, quick 30)")
    parser.add_argument("--database-url", help="database of the in-process hook calls (default: a fresh SQLite file)")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BME_CDS_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="PostgreSQL server for the HTTP benchmark (a fresh schema is made and dropped)",
    )
    parser.add_argument("--requests", type=int, help="hook calls in the HTTP load (default 6000, quick 1500)")
    parser.add_argument("--clients", type=int, default=2, help="load generator processes")
    parser.add_argument("--threads", type=int, default=4, help="connections (threads) per load generator process")
    parser.add_argument("--skip-in-process", action="store_true")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-instructions", action="store_true", help="leave out the instruction counts (valgrind)")
    parser.add_argument("--markdown", action="store_true", help="also print the tables as Markdown")
    parser.add_argument("--output", type=Path, help="results file (default: bench/results/<date-time>.json)")
    return parser


def _in_process(database_url: str, workdir: Path, args: argparse.Namespace, iterations: int) -> tuple[list[dict[str, Any]], str]:
    rows = []
    with in_process_bench(workdir, database_url) as bench:
        for workload in standard_workloads(quick=args.quick):
            # The largest chart takes far longer per call; fewer calls keep the run short.
            count = max(10, iterations // 5) if workload.size >= 1000 else iterations
            result = bench.run(workload, count, warmup=max(3, count // 10))
            rows.append(result.as_json())
            print(f"  measured {workload.name}", flush=True)
    return rows, database_url.partition(":")[0]


def _instructions(database_url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Instructions per call under callgrind, or why there are none (valgrind missing is not an error here)."""
    if not instructions.available():
        print("  instruction counts left out: valgrind is not installed (Debian: apt-get install valgrind)", flush=True)
        return {"skipped": "valgrind not installed"}
    calls, warmup = (10, 5) if args.quick else (30, 10)
    rows = instructions.count(COUNTED_WORKLOADS, database_url, calls, warmup, quick=args.quick)
    print("  counted instructions", flush=True)
    return {"database": database_url.partition(":")[0], "rows": rows}


def _scaling(rows: list[dict[str, Any]]) -> dict[str, Any]:
    chart = [r for r in rows if r["name"].startswith("patient-view")]
    sizes = [r["size"] for r in chart]
    engine = [r["engine_ms"]["median"] for r in chart]
    hook = [r["hook_ms"]["median"] for r in chart]
    return {
        "sizes": sizes,
        "engine_median_ms": engine,
        "hook_median_ms": hook,
        "engine_growth_exponents": [round(g, 3) for g in growth_exponent(sizes, engine)],
        "hook_growth_exponents": [round(g, 3) for g in growth_exponent(sizes, hook)],
    }


def _over_http(workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    requests = args.requests or (1500 if args.quick else 6000)
    issuer = BenchIssuer()
    body = patient_view(LOAD_CHART_SIZE)
    loads = {}
    with http_load.postgres_schema(args.postgres_url) as database_url:
        with http_load.gunicorn_server(workdir, database_url, issuer) as server:
            http_load.wait_for_workers(server, workers=2)
            # Warm-up: each worker's first calls fill caches (JWKS keys, value-set lookups, DB pool).
            http_load.run_load(server, LOAD_PATH, body, issuer, requests=400, processes=1, threads=args.threads, keep_alive=False)
            http_load.analyze_tables(database_url)
            for name, keep_alive in (("new_connection_per_call", False), ("keep_alive", True)):
                loads[name] = http_load.run_load(
                    server, LOAD_PATH, body, issuer, requests=requests, processes=args.clients, threads=args.threads, keep_alive=keep_alive
                ).as_json()
            rss = server.worker_rss_mb()
        runs = 3 if args.quick else startup.RUNS
        server_startup = startup.server_startup(workdir, database_url, issuer, runs)
    loads["echo_new_connection_per_call"] = _echo_over_http(workdir, body, issuer, requests, args)
    fresh = startup.measure(runs)
    print("  measured HTTP load and start-up", flush=True)
    return {
        "setup": (
            f"patient-view N={LOAD_CHART_SIZE}, bme-cds serve (gunicorn, 2 workers x 4 threads), auth on, PostgreSQL; "
            f"client: {args.clients} processes x {args.threads} threads on the same machine"
        ),
        "loads": loads,
        "startup": {
            **server_startup,
            "worker_rss_mb_after_load": [round(mb, 1) for mb in rss],
            **fresh,
        },
    }


def _echo_over_http(workdir: Path, body: dict[str, Any], issuer: BenchIssuer, requests: int, args: argparse.Namespace) -> dict[str, Any]:
    """The same load on the bare Flask echo served the same way: what this machine's Flask and gunicorn reach at most."""
    echo_dir = workdir / "echo"
    echo_dir.mkdir()
    with http_load.echo_server(echo_dir) as server:
        http_load.wait_for_workers(server, workers=2)
        http_load.run_load(server, "/echo", body, issuer, requests=400, processes=1, threads=args.threads, keep_alive=False)
        load = http_load.run_load(server, "/echo", body, issuer, requests=requests, processes=args.clients, threads=args.threads, keep_alive=False)
    return {**load.as_json(), "served": "bare Flask echo"}


if __name__ == "__main__":
    main()
