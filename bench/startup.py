"""Start-up cost of one service process: imports, then ``create_app`` (content load, compile, wiring).

Measured in a fresh interpreter (``python -m bench.startup``), because a
process that has already imported the packages would hide most of it. The
probe prints one JSON object; :func:`measure` runs it and reads it back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import proc


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


def measure() -> dict[str, Any]:
    """Run :func:`probe` in a new interpreter; adds the interpreter's own start-up to the total."""
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
