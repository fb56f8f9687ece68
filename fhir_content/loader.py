"""Read a content directory, validate each artifact with the R4B models, index artifacts by canonical URL.

The ``fhir.resources.R4B`` models are used here, at load time only: they tell
the author about a misspelled element or a wrong type before the service
starts. Everything after loading works on the plain JSON dicts.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import pydantic
from fhir.resources.R4B import get_fhir_model_class

from fhir_content.problems import Problems, json_path

KNOWLEDGE_TYPES = ("PlanDefinition", "ActivityDefinition", "ValueSet", "Library")
REQUIRED_METADATA = ("id", "url", "version", "status")


@dataclass(frozen=True)
class Artifact:
    """One knowledge resource and the file it came from (for problem messages)."""

    file: str
    resource: dict[str, Any]

    @property
    def type(self) -> str:
        return self.resource["resourceType"]

    @property
    def id(self) -> str:
        return self.resource["id"]

    @property
    def url(self) -> str:
        return self.resource["url"]

    @property
    def version(self) -> str:
        return self.resource["version"]

    @property
    def key(self) -> str:
        """The versioned canonical ``url|version`` that names exactly this artifact."""
        return f"{self.url}|{self.version}"


def read_artifacts(source: Path | Traversable, problems: Problems) -> list[Artifact]:
    """Parse and model-validate every ``*.json`` file directly in ``source``.

    Files with problems are reported and left out, so later steps only see
    well-formed artifacts (and report what they reference as unresolved).
    """
    if not source.is_dir():
        problems.add(str(source), "$", "content source is not a directory")
        return []
    files = sorted((f for f in source.iterdir() if f.name.endswith(".json") and f.is_file()), key=lambda f: f.name)
    artifacts = []
    for file in files:
        artifact = _read_one(file.name, file.read_text(encoding="utf-8"), problems)
        if artifact is not None:
            artifacts.append(artifact)
    return artifacts


def _read_one(name: str, text: str, problems: Problems) -> Artifact | None:
    try:
        resource = json.loads(text)
    except json.JSONDecodeError as exc:
        problems.add(name, "$", f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")
        return None
    if not isinstance(resource, dict) or resource.get("resourceType") not in KNOWLEDGE_TYPES:
        problems.add(name, "$.resourceType", f"must be one of {', '.join(KNOWLEDGE_TYPES)}")
        return None
    before = len(problems)
    for element in REQUIRED_METADATA:
        if not isinstance(resource.get(element), str) or not resource[element]:
            problems.add(name, json_path("$", element), "required (every artifact has id, url, version and status)")
    _validate_model(name, resource, problems)
    return Artifact(name, resource) if len(problems) == before else None


def _validate_model(name: str, resource: dict[str, Any], problems: Problems) -> None:
    model = get_fhir_model_class(resource["resourceType"])
    try:
        model.model_validate(resource)
    except pydantic.ValidationError as exc:
        for error in exc.errors():
            path = json_path("$", *[p for p in error["loc"] if isinstance(p, str | int)])
            problems.add(name, path, f"not valid FHIR R4: {error['msg']}")


def version_order(version: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key for artifact versions: ``1.10.0`` is newer than ``1.9.2``."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"[.\-+]", version))


class ArtifactIndex:
    """Artifacts by ``(type, id)``, by ``url|version`` and by ``url`` (the latest version)."""

    def __init__(self, artifacts: Iterable[Artifact], problems: Problems):
        self._by_id: dict[tuple[str, str], Artifact] = {}
        self._by_key: dict[str, Artifact] = {}
        self._latest: dict[str, Artifact] = {}
        for artifact in artifacts:
            if (artifact.type, artifact.id) in self._by_id:
                other = self._by_id[(artifact.type, artifact.id)].file
                problems.add(artifact.file, "$.id", f"duplicate {artifact.type} id {artifact.id!r} (also in {other})")
                continue
            if artifact.key in self._by_key:
                other = self._by_key[artifact.key].file
                problems.add(artifact.file, "$.url", f"duplicate canonical {artifact.key} (also in {other})")
                continue
            self._by_id[(artifact.type, artifact.id)] = artifact
            self._by_key[artifact.key] = artifact
            latest = self._latest.get(artifact.url)
            if latest is None or version_order(artifact.version) > version_order(latest.version):
                self._latest[artifact.url] = artifact

    def all(self, type_: str | None = None) -> list[Artifact]:
        return [a for (t, _), a in self._by_id.items() if type_ is None or t == type_]

    def resolve(self, canonical: str, type_: str | None = None) -> Artifact | None:
        """The artifact a canonical reference names: ``url|version`` exactly, plain ``url`` the latest."""
        url, _, version = canonical.partition("|")
        artifact = self._by_key.get(canonical) if version else self._latest.get(url)
        if artifact is None or (type_ is not None and artifact.type != type_):
            return None
        return artifact

    def is_latest(self, artifact: Artifact) -> bool:
        return self._latest.get(artifact.url) is artifact

    def get(self, type_: str, id_: str) -> Artifact | None:
        return self._by_id.get((type_, id_))

    def read(self, type: str, id: str) -> dict[str, Any] | None:  # noqa: A002 - FHIR names
        """A copy of one artifact's JSON, or ``None``."""
        artifact = self._by_id.get((type, id))
        return copy.deepcopy(artifact.resource) if artifact else None

    def search(  # noqa: A002 - FHIR search parameter names
        self,
        type: str,
        url: str | None = None,
        name: str | None = None,
        status: str | None = None,
        id: str | None = None,
    ) -> list[dict[str, Any]]:
        """FHIR-style search: ``url`` exact (``url|version`` also matches the version), ``name``
        case-insensitive prefix, ``status`` and ``id`` exact. Returns copies."""
        found = []
        for artifact in self.all(type):
            r = artifact.resource
            if url is not None and url not in (artifact.url, artifact.key):
                continue
            if name is not None and not str(r.get("name", "")).lower().startswith(name.lower()):
                continue
            if status is not None and r.get("status") != status:
                continue
            if id is not None and artifact.id != id:
                continue
            found.append(copy.deepcopy(r))
        return found
