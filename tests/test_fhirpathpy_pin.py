"""The installed fhirpathpy is the exact version the FHIRPath compiler was verified against.

fhir_content/fhirpath_compiler.py and fhirpath_native.py reuse fhirpathpy's
private internals (its docstring lists them), which can change in any
release; pyproject.toml pins the one version the differential tests passed on.
"""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def pinned_fhirpathpy() -> str:
    dependencies = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]
    pins = [m.group(1) for d in dependencies if (m := re.fullmatch(r"fhirpathpy==([\w.]+)", d.replace(" ", "")))]
    assert len(pins) == 1, f"pyproject.toml must pin fhirpathpy to one exact version (fhirpathpy==X.Y.Z), found {dependencies}"
    return pins[0]


def test_the_installed_fhirpathpy_is_the_pinned_version():
    pinned, installed = pinned_fhirpathpy(), version("fhirpathpy")
    assert installed == pinned, (
        f"fhirpathpy {installed} is installed, but the FHIRPath compiler is verified against {pinned} only "
        f"(pyproject.toml): it reuses fhirpathpy's internals. Install fhirpathpy=={pinned}; to move to another "
        "version, check the private names listed in fhir_content/fhirpath_compiler.py's docstring, run "
        "tests/test_fhirpath_compiler.py and tests/test_fhirpath_native.py on it, then change the pin."
    )
