"""Library artifacts: named FHIRPath expressions (standard ``variable`` extension), shared by many actions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from fhir_content.expressions import Expression, ExpressionCompiler
from fhir_content.loader import Artifact, ArtifactIndex
from fhir_content.problems import Problems, json_path

VARIABLE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/variable"

# Names the engine defines for every request (see docs/content-authoring.md) plus
# fhirpathpy's own; a Library variable must not hide them.
RESERVED_NAMES = frozenset(
    {"patient", "context", "draftOrders", "selections", "baseUrl", "language", "ageYears", "ucum", "resource", "rootResource"}
)


@dataclass(frozen=True)
class Variable:
    name: str
    expression: Expression


@dataclass(frozen=True)
class CompiledLibrary:
    key: str
    variables: tuple[Variable, ...]


def compile_library(artifact: Artifact, compiler: ExpressionCompiler, problems: Problems) -> CompiledLibrary:
    """Compile a Library's variables in the order written (a later one may use an earlier one)."""
    variables: list[Variable] = []
    names: set[str] = set()
    extensions = [(i, e) for i, e in enumerate(artifact.resource.get("extension") or []) if e.get("url") == VARIABLE_EXTENSION]
    if not extensions:
        problems.add(artifact.file, "$.extension", f"no {VARIABLE_EXTENSION} extensions: the Library defines nothing")
    for i, extension in extensions:
        path = json_path("$.extension", i, "valueExpression")
        element = extension.get("valueExpression") or {}
        name = element.get("name")
        if not name:
            problems.add(artifact.file, json_path(path, "name"), "a variable needs a name")
            continue
        if name in RESERVED_NAMES:
            problems.add(artifact.file, json_path(path, "name"), f"%{name} is defined by the engine; choose another name")
            continue
        if name in names:
            problems.add(artifact.file, json_path(path, "name"), f"variable {name} is defined twice")
            continue
        names.add(name)
        expression = compiler.compile_element(element, artifact.file, path, raw=True)
        if expression is not None:
            variables.append(Variable(name, expression))
    return CompiledLibrary(artifact.key, tuple(variables))


def resolve_libraries(
    artifact: Artifact, index: ArtifactIndex, libraries: Mapping[str, CompiledLibrary], problems: Problems
) -> tuple[CompiledLibrary, ...]:
    """The compiled Libraries an artifact's ``library`` canonicals name (unresolved ones reported)."""
    found = []
    for i, canonical in enumerate(artifact.resource.get("library") or []):
        target = index.resolve(canonical, "Library")
        library = libraries.get(target.key) if target else None
        if library is None:
            problems.add(artifact.file, json_path("$.library", i), f"unresolved Library {canonical}")
        else:
            found.append(library)
    return tuple(found)


def merge_libraries(groups: Iterable[tuple[CompiledLibrary, ...]]) -> tuple[CompiledLibrary, ...]:
    """Libraries in first-seen order, each once (a plan's own, then its activities')."""
    merged: dict[str, CompiledLibrary] = {}
    for group in groups:
        for library in group:
            merged.setdefault(library.key, library)
    return tuple(merged.values())
