"""``bme-cds serve`` (gunicorn) in a subprocess, serving the test services, for tests that need real workers.

The server's stderr (gunicorn's error log and the app's log lines) is handed
to the session's log guard when the server stops, so subprocess logs are
checked for tokens and patient data like in-process ones.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from support.log_guard import LOG_GUARD
from support.store_auth import free_port

TESTS_DIR = Path(__file__).resolve().parent.parent
STARTUP_WAIT_SECONDS = 60


@contextmanager
def running_server(
    tmp_path: Path, database_url: str, *args: str, env: Mapping[str, str] | None = None
) -> Iterator[tuple[str, Path, Path]]:
    """``bme-cds serve`` with ``args``; yields the base URL and the stdout and stderr files.

    ``env`` adds ``BME_CDS_*`` (or other) variables to the server's environment.
    """
    port = free_port()
    server_env = {
        **os.environ,
        "PYTHONPATH": str(TESTS_DIR),
        "BME_CDS_DATABASE_URL": database_url,
        "BME_CDS_INSTANCE_DIR": str(tmp_path / "instance"),
        **(env or {}),
    }
    stdout, stderr = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with stdout.open("w") as out, stderr.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "support.cli_entry", "serve", "--port", str(port), *args],
            cwd=tmp_path, env=server_env, stdout=out, stderr=err,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(base_url, process, stderr)
        yield base_url, stdout, stderr
    finally:
        process.terminate()
        process.wait(timeout=30)
        LOG_GUARD.add_output(f"bme-cds serve stderr ({tmp_path.name})", stderr.read_text())


def _wait_until_healthy(base_url: str, process: subprocess.Popen, stderr: Path) -> None:
    deadline = time.monotonic() + STARTUP_WAIT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"bme-cds serve exited with {process.returncode}:\n{stderr.read_text()[-3000:]}")
        try:
            if requests.get(base_url + "/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass  # not listening yet, or the worker is still booting
        time.sleep(0.2)
    pytest.fail(f"bme-cds serve did not become healthy:\n{stderr.read_text()[-3000:]}")
