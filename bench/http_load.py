"""Over HTTP: gunicorn (2 workers) with auth and PostgreSQL, startup time, bounded load, memory per worker.

The server is started exactly as a user starts it (``bme-cds serve``), on a
free port of 127.0.0.1, with a fresh PostgreSQL schema, a trusted-issuers
file holding the bench issuer's key inline, and its log written to a file.

The load generator is a few client processes, each with a few threads, each
thread sending a fixed number of requests, every one with its own pre-minted
token: either on one keep-alive connection per thread, or on a new connection
per call (as many separate EHR sessions would). Gunicorn hands a connection to
one worker for its whole life, so a handful of keep-alive connections can
leave one worker idle while the other is saturated; the CPU time of each
worker is reported to show it. Client and server share the machine's cores,
so the client's own CPU time is measured and reported: it is capacity the
server did not get; so is the CPU of the PostgreSQL processes on this machine
during the load (the database's share of a call).
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench import http_client, proc
from bench.stats import Summary
from bench.tokens import BenchIssuer

# PostgreSQL's processes on this machine (the service's database in the load runs): their CPU is a share of the
# same two cores, so it is reported beside the workers' and the client's.
DATABASE_COMMAND = "postgres"
HEALTH_POLL_SECONDS = 0.01
REPOSITORY_ROOT = str(Path(__file__).resolve().parent.parent)
STARTUP_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class LoadResult:
    """What a fixed number of hook calls over HTTP did."""

    requests: int
    errors: int
    concurrency: int
    wall_seconds: float
    latency: Summary
    keep_alive: bool
    client_cpu_seconds: float
    worker_cpu_seconds: list[float]
    database_cpu_seconds: float
    machine_busy_fraction: float

    @property
    def throughput(self) -> float:
        return (self.requests - self.errors) / self.wall_seconds

    def as_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "concurrency": self.concurrency,
            "wall_seconds": round(self.wall_seconds, 3),
            "throughput_per_second": round(self.throughput, 1),
            "latency_ms": self.latency.as_json(),
            "keep_alive": self.keep_alive,
            "client_cpu_seconds": round(self.client_cpu_seconds, 2),
            "worker_cpu_seconds": [round(seconds, 2) for seconds in self.worker_cpu_seconds],
            "server_cpu_ms_per_request": round(1000 * sum(self.worker_cpu_seconds) / self.requests, 2),
            "database_cpu_ms_per_request": round(1000 * self.database_cpu_seconds / self.requests, 2),
            "machine_busy_fraction": round(self.machine_busy_fraction, 3),
        }


@dataclass
class Server:
    """A running ``bme-cds serve``: its URL, master process and how long it took to become healthy."""

    base_url: str
    process: subprocess.Popen
    startup_seconds: float

    def worker_pids(self) -> list[int]:
        return proc.children(self.process.pid)

    def worker_cpu_seconds(self) -> dict[int, float]:
        """User + system CPU of each worker so far."""
        return {pid: proc.cpu_seconds(pid) for pid in self.worker_pids()}

    def worker_rss_mb(self) -> list[float]:
        return [proc.rss_kb(pid) / 1024 for pid in self.worker_pids()]


@contextmanager
def postgres_schema(base_url: str) -> Iterator[str]:
    """A new, empty schema for this run; yields a URL whose connections use it. Dropped afterwards."""
    schema = f"bench_{secrets.token_hex(4)}"
    admin = create_engine(base_url, connect_args={"connect_timeout": 5})
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def analyze_tables(database_url: str) -> None:
    """Refresh the planner statistics of the service's tables, as autovacuum does in a running database.

    A fresh schema has none until autovacuum's next round (a minute or more):
    without them PostgreSQL scans a patient's whole card history for the
    suppression check instead of starting from the (few) overridden cards.
    """
    engine = create_engine(database_url, connect_args={"connect_timeout": 5})
    try:
        with engine.begin() as connection:
            connection.execute(text("ANALYZE issued_cards, feedback, seen_jti"))
    finally:
        engine.dispose()


@contextmanager
def gunicorn_server(workdir: Path, database_url: str, issuer: BenchIssuer, workers: int = 2, threads: int = 4) -> Iterator[Server]:
    """``bme-cds serve`` with auth on (the bench issuer trusted); stopped with SIGTERM on exit."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "BME_CDS_DATABASE_URL": database_url,
        "BME_CDS_TRUSTED_ISSUERS": str(issuer.write_trusted_issuers(workdir / "trusted-issuers.json")),
        "BME_CDS_INSTANCE_DIR": str(workdir / "instance"),
        "BME_CDS_PUBLIC_URL": base_url,
    }
    command = [str(Path(sys.executable).with_name("bme-cds")), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--threads", str(threads)]
    with _serving(command, env, workdir, port) as server:
        yield server


@contextmanager
def echo_server(workdir: Path, workers: int = 2, threads: int = 4) -> Iterator[Server]:
    """The in-process benchmark's bare Flask echo, served by gunicorn exactly as ``bme-cds serve`` serves the service.

    The same worker class, workers, threads and preloading, so its throughput
    is what this machine's Python, Flask and gunicorn reach for this body with
    no work in the view: the ceiling any Flask service here could reach.
    """
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [REPOSITORY_ROOT, os.environ.get("PYTHONPATH")]))}
    command = [
        sys.executable, "-m", "gunicorn",
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads),
        "--worker-class", "gthread", "--preload", "--no-control-socket",
        "bench.inprocess:echo_app()",
    ]  # fmt: skip
    with _serving(command, env, workdir, port) as server:
        yield server


@contextmanager
def _serving(command: list[str], env: dict[str, str], workdir: Path, port: int) -> Iterator[Server]:
    """Run ``command`` until it answers ``/healthz`` on ``port``; SIGTERM (then kill) on exit. Its log: gunicorn.log."""
    log = (workdir / "gunicorn.log").open("ab")
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    try:
        _wait_healthy(port, process)
        yield Server(f"http://127.0.0.1:{port}", process, time.perf_counter() - started)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def wait_for_workers(server: Server, workers: int, timeout: float = STARTUP_TIMEOUT_SECONDS) -> float:
    """Seconds until ``workers`` worker processes exist and the service answers (after startup)."""
    started = time.perf_counter()
    while len(server.worker_pids()) < workers:
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"only {len(server.worker_pids())} of {workers} gunicorn workers started")
        time.sleep(HEALTH_POLL_SECONDS)
    return time.perf_counter() - started


def run_load(
    server: Server,
    path: str,
    body: dict[str, Any],
    issuer: BenchIssuer,
    *,
    requests: int,
    processes: int,
    threads: int,
    keep_alive: bool = True,
) -> LoadResult:
    """Send ``requests`` POSTs of ``body`` to ``path`` from ``processes`` x ``threads`` client threads.

    With ``keep_alive`` each thread keeps one connection (a worker serves it to
    the end); without, every call opens a new one, as many separate EHR
    sessions would (the kernel hands each to whichever worker accepts first).
    """
    raw = json.dumps(body).encode("utf-8")
    per_thread = requests // (processes * threads)
    if per_thread < 1:
        raise ValueError("fewer requests than client connections")
    tokens = issuer.mint(server.base_url + path, per_thread * processes * threads)
    context = multiprocessing.get_context("fork")
    ready = context.Barrier(processes + 1)
    results = context.Queue()
    clients = [
        context.Process(
            target=_client_process,
            args=(
                server.base_url,
                path,
                raw,
                tokens[p * threads * per_thread : (p + 1) * threads * per_thread],
                threads,
                keep_alive,
                ready,
                results,
            ),
        )
        for p in range(processes)
    ]
    for client in clients:
        client.start()
    ready.wait()
    machine_before, workers_before = proc.machine_ticks(), server.worker_cpu_seconds()
    database_before = proc.command_cpu_seconds(DATABASE_COMMAND)
    outcomes = [results.get(timeout=600) for _ in clients]
    machine_after, workers_after = proc.machine_ticks(), server.worker_cpu_seconds()
    database_after = proc.command_cpu_seconds(DATABASE_COMMAND)
    for client in clients:
        client.join()
    latencies = [ms for outcome in outcomes for ms in outcome["latencies"]]
    busy = (machine_after[0] - machine_before[0]) / max(1, machine_after[1] - machine_before[1])
    return LoadResult(
        requests=len(latencies),
        errors=sum(outcome["errors"] for outcome in outcomes),
        concurrency=processes * threads,
        wall_seconds=max(o["end"] for o in outcomes) - min(o["start"] for o in outcomes),
        latency=Summary.of(latencies),
        keep_alive=keep_alive,
        client_cpu_seconds=sum(outcome["cpu"] for outcome in outcomes),
        worker_cpu_seconds=[workers_after[pid] - workers_before.get(pid, 0.0) for pid in workers_after],
        database_cpu_seconds=max(0.0, database_after - database_before),
        machine_busy_fraction=busy,
    )


def _client_process(
    base_url: str, path: str, raw: bytes, tokens: list[str], threads: int, keep_alive: bool, ready: Any, results: Any
) -> None:
    host, port = base_url.removeprefix("http://").split(":")
    address = (host, int(port))
    per_thread = len(tokens) // threads
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors = [0] * threads
    go = threading.Event()

    def worker(index: int) -> None:
        prepared = [
            http_client.prepared_request(host, int(port), path, raw, token, keep_alive=keep_alive)
            for token in tokens[index * per_thread : (index + 1) * per_thread]
        ]
        connection = None
        go.wait()
        for request in prepared:
            started = time.perf_counter()
            try:
                if connection is None:
                    connection = socket.create_connection(address, timeout=60)
                status = http_client.exchange(connection, request)
            except (OSError, http_client.ResponseError):
                status = 0
            if connection is not None and (status == 0 or not keep_alive):  # a failed connection is not used again
                connection.close()
                connection = None
            latencies[index].append((time.perf_counter() - started) * 1000)
            if status != 200:
                errors[index] += 1
        if connection is not None:
            connection.close()

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    ready.wait()
    cpu_before, start = time.process_time(), time.perf_counter()
    go.set()
    for thread in pool:
        thread.join()
    end = time.perf_counter()
    results.put({
        "latencies": [ms for per in latencies for ms in per],
        "errors": sum(errors),
        "start": start,
        "end": end,
        "cpu": time.process_time() - cpu_before,
    })


def _wait_healthy(port: int, process: subprocess.Popen) -> None:
    deadline = time.perf_counter() + STARTUP_TIMEOUT_SECONDS
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{' '.join(process.args[:3])} exited with {process.returncode}; see gunicorn.log in the work directory")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(HEALTH_POLL_SECONDS)
    raise RuntimeError(f"{' '.join(process.args[:3])} not healthy after {STARTUP_TIMEOUT_SECONDS} s")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
