"""``bme-cds serve --demo`` with the installed BME content under real gunicorn: banner, preview, demo FHIR, fallback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import requests

from support.gunicorn import _wait_until_healthy
from support.log_guard import LOG_GUARD
from support.store_auth import free_port

from .clinic import PATIENTS, hook_request


def test_serve_demo_offers_the_preview_the_demo_fhir_server_and_the_prefetch_fallback(tmp_path, bme):
    port = free_port()
    env = {**os.environ, "BME_CDS_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
           "BME_CDS_INSTANCE_DIR": str(tmp_path / "instance")}
    stdout, stderr = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    command = [str(Path(sys.executable).with_name("bme-cds")), "serve", "--demo", "--insecure-no-auth", "--port", str(port)]
    with stdout.open("w") as out, stderr.open("w") as err:
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=out, stderr=err)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(base, process, stderr)
        assert f"demo:     {base}/preview" in stdout.read_text()
        assert requests.get(f"{base}/preview", timeout=10).status_code == 200
        assert "DEMO ONLY" in requests.get(f"{base}/demo-fhir/metadata", timeout=10).json()["description"]
        body = {key: value for key, value in hook_request(bme, PATIENTS["demo-robert-alvarez"]).items() if key != "prefetch"}
        response = requests.post(f"{base}/cds-services/bme-patient-view", json={**body, "fhirServer": f"{base}/demo-fhir"}, timeout=30)
        assert response.status_code == 200, response.text
        assert [card["indicator"] for card in response.json()["cards"]] == ["warning"]
    finally:
        process.terminate()
        process.wait(timeout=30)
        LOG_GUARD.add_output(f"bme-cds serve --demo stderr ({tmp_path.name})", stderr.read_text())
