"""Start-up cost: ``bme-cds serve`` until its first healthy ``/healthz``, and one process's imports and ``create_app``.

Start-up takes about a second, and on a machine shared with other jobs one
run can take much longer than the next: every measure here is the
median of a few runs, with each run reported, so one noisy run does not
decide.

The imports and ``create_app`` are timed in a fresh interpreter
(``python -m bench.startup``), because a process that has already imported
the packages would hide most of it. The probe prints one JSON object;
:func:`measure` runs it and reads it back.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import http_load, proc
from bench.tokens import BenchIssuer

#: Runs of each measure; their median is the figure.
RUNS = 5


def server_startup(workdir: Path, database_url: str, issuer: BenchIssuer, runs: int = RUNS) -> dict[str, Any]:
    """Seconds from starting ``bme-cds serve`` (2 workers, auth on) to its first healthy ``/healthz``, ``runs`` times.

    Every run starts a new server process on the same database, as a restart does (the
    schema is already at the newest version after the first).
    """
    seconds = []
    for run in range(runs):
        run_dir = workdir / f"startup-{run}"
        run_dir.mkdir()
        with http_load.gunicorn_server(run_dir, database_url, issuer) as server:
            seconds.append(round(server.startup_seconds, 3))
    # The median of the runs as shown, so the figure can be checked against them.
    return {
        "process_start_to_healthy_seconds": round(statistics.median(seconds), 3),
        "process_start_to_healthy_runs": seconds,
    }


def probe(workdir: Path) -> dict[str, Any]:
    """Time the imports and ``create_app`` in this (fresh) process; report its resident memory after."""
    started = time.perf_counter()
    from cds_hooks.app import create_app
    from cds_hooks.settings import Settings

    imported = time.perf_counter()
    create_app(Settings(database_url=f"sqlite:///{workdir / 'startup.sqlite3'}", instance_dir=str(workdir / "instance")))
    created = time.perf_counter()
    return {
        "import_seconds": round(imported - started, 3),
        "create_app_seconds": round(created - imported, 3),
        "rss_mb_after_create_app": round(proc.rss_kb() / 1024, 1),
    }


def measure(runs: int = RUNS) -> dict[str, Any]:
    """Medians of :func:`probe` run ``runs`` times, each in a new interpreter (whose own start-up is in the total)."""
    results = [_probe_in_new_interpreter() for _ in range(runs)]
    medians = {name: round(statistics.median(r[name] for r in results), 3) for name in results[0]}
    return {**medians, "create_app_runs": [r["create_app_seconds"] for r in results]}


def _probe_in_new_interpreter() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bme-cds-startup-") as workdir:
        started = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, "-m", "bench.startup", workdir],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_repository_root(), os.environ.get("PYTHONPATH")]))},
        )
        total = time.perf_counter() - started
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    result["process_total_seconds"] = round(total, 3)
    return result


def _repository_root() -> str:
    return str(Path(__file__).resolve().parent.parent)


if __name__ == "__main__":
    print(json.dumps(probe(Path(sys.argv[1]))))
