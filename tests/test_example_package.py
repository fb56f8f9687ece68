"""The example content package (examples/ckd-checkup), installed next to the service in a fresh virtual
environment, plugs in without any change to the service: discovery, a hook call with a real token,
/fhir, handouts, ``bme-cds validate``, the ``BME_CDS_CONTENT`` selection, and its own golden tests.

The new environment sees the project's environment (the service and its dependencies, as installed by
``./dev test``) through a ``site.addsitedir`` line, and gets the example by ``pip install --no-deps``
from a copy of its folder (its build backend comes from the machine's configured package mirrors).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "ckd-checkup"
CHECKS = Path(__file__).parent / "support" / "example_package_checks.py"

pytestmark = pytest.mark.venv


@pytest.fixture(scope="module")
def example_env(tmp_path_factory) -> dict[str, str | Path]:
    """A fresh venv with the example installed, and the environment variables to run the service in it."""
    tmp = tmp_path_factory.mktemp("example")
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site_packages = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    project_site = sysconfig.get_path("purelib")
    Path(site_packages, "project-environment.pth").write_text(f"import site; site.addsitedir({project_site!r})\n")
    source = tmp / "ckd-checkup"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build", ".pytest_cache"))
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps",
         "--disable-pip-version-check", str(source)],
        check=True, capture_output=True, text=True,
    )
    env = {
        **os.environ,
        "PYTHONDONTWRITEBYTECODE": "1",
        "BME_CDS_CONTENT": "ckd-checkup",
        "BME_CDS_DATABASE_URL": f"sqlite:///{tmp / 'service.sqlite3'}",
        "BME_CDS_INSTANCE_DIR": str(tmp / "instance"),
    }
    env.pop("PYTHONPATH", None)
    return {"python": python, "env": env, "source": source}


def run_cli(example_env, *args: str) -> subprocess.CompletedProcess:
    code = "from cds_hooks.cli import main; main()"
    return subprocess.run([example_env["python"], "-c", code, *args], env=example_env["env"], cwd=example_env["source"],
                          capture_output=True, text=True, timeout=120)


def test_the_installed_example_is_served_beside_or_instead_of_bme(example_env):
    token = run_cli(example_env, "dev-token", "--aud", "http://localhost/cds-services/ckd-checkup")
    assert token.returncode == 0, token.stderr
    result = subprocess.run([example_env["python"], CHECKS], env={**example_env["env"], "TOKEN": token.stdout.strip()},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["installed"] == ["bme", "ckd-checkup"]
    assert seen["services"] == ["ckd-checkup"]  # BME_CDS_CONTENT=ckd-checkup: the site runs without BME
    assert seen["services_of_every_installed"] == ["bme-order-select", "bme-order-sign", "bme-patient-view", "ckd-checkup"]
    assert seen["hook_status"] == 200 and seen["unauthenticated_status"] == 401
    [card] = seen["cards"]
    assert card["summary"] == "Chronic kidney disease: no kidney function test in the last 12 months"
    assert card["suggestions"][0]["actions"][0]["resource"]["code"]["coding"][0]["code"] == "2160-0"
    assert card["links"][0]["url"] == "http://localhost/handouts/kidney-check?lang=en"
    assert seen["plans"] == ["ckd-checkup"]
    assert seen["expansion_codes"] == ["N18.1", "N18.2", "N18.3", "N18.30", "N18.31", "N18.32", "N18.4", "N18.5", "N18.9"]
    assert seen["handout"] == [200, "en"]  # the package declares English only


def test_bme_cds_validate_checks_the_installed_example(example_env):
    result = run_cli(example_env, "validate")
    assert result.returncode == 0, result.stderr
    assert "ckd_checkup/content: checked 5 artifacts" in result.stdout and "0 problem(s)" in result.stdout
    assert "plugin/content" not in result.stdout


def test_the_example_passes_its_own_golden_tests(example_env):
    result = subprocess.run([example_env["python"], "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                            env=example_env["env"], cwd=example_env["source"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "failed" not in result.stdout
