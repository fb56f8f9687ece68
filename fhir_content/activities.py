"""ActivityDefinition: compiled at load, ``$apply``-ed per request into a draft request resource.

The result of ``$apply`` is a proposal the clinician may accept: ``status``
draft, ``intent`` proposal, the patient as subject, the ActivityDefinition's
code, then each ``dynamicValue`` written at its path. R4 shapes differ per
kind, so one table says where subject, code and ``instantiatesCanonical`` go.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fhir_content.elementpath import ElementPath, PathError
from fhir_content.expressions import Expression, ExpressionCompiler, ExpressionError, Scope, to_json
from fhir_content.libraries import CompiledLibrary, resolve_libraries
from fhir_content.loader import Artifact, ArtifactIndex
from fhir_content.problems import Problems, json_path


@dataclass(frozen=True)
class KindShape:
    """Where a kind of request resource keeps what ``$apply`` fills in (R4)."""

    has_intent: bool
    subject: str
    code: str
    code_is_list: bool
    code_from: str
    instantiates_is_list: bool | None  # None: the resource has no instantiatesCanonical


KINDS: dict[str, KindShape] = {
    "ServiceRequest": KindShape(True, "subject", "code", False, "code", True),
    "Task": KindShape(True, "for", "code", False, "code", False),
    "MedicationRequest": KindShape(True, "subject", "medicationCodeableConcept", False, "productCodeableConcept", True),
    # R4 CommunicationRequest has neither intent nor code: the code becomes its category.
    "CommunicationRequest": KindShape(False, "subject", "category", True, "code", None),
}


@dataclass(frozen=True)
class DynamicValue:
    path: ElementPath
    expression: Expression


@dataclass(frozen=True)
class CompiledActivity:
    id: str
    key: str
    kind: str
    code: dict[str, Any]
    dynamic_values: tuple[DynamicValue, ...]
    libraries: tuple[CompiledLibrary, ...]

    def apply(self, scope: Scope, subject: str | None) -> dict[str, Any]:
        """The draft resource for one patient; raises :class:`ExpressionError` if a dynamic value fails."""
        shape = KINDS[self.kind]
        resource: dict[str, Any] = {"resourceType": self.kind, "status": "draft"}
        if shape.has_intent:
            resource["intent"] = "proposal"
        if shape.instantiates_is_list is not None:
            resource["instantiatesCanonical"] = [self.key] if shape.instantiates_is_list else self.key
        resource[shape.code] = [dict(self.code)] if shape.code_is_list else dict(self.code)
        if subject:
            resource[shape.subject] = {"reference": subject}
        for dynamic in self.dynamic_values:
            values = [v for v in to_json(dynamic.expression.evaluate(scope)) if v not in ("", None, [], {})]
            try:
                dynamic.path.assign(resource, values)
            except PathError as exc:
                raise ExpressionError(dynamic.expression.where, exc) from exc
        return resource


def compile_activity(
    artifact: Artifact,
    compiler: ExpressionCompiler,
    index: ArtifactIndex,
    libraries: Mapping[str, CompiledLibrary],
    problems: Problems,
) -> CompiledActivity | None:
    """Compile one ActivityDefinition; its ``library`` variables are available to its dynamic values."""
    resource = artifact.resource
    kind = resource.get("kind")
    if kind not in KINDS:
        problems.add(artifact.file, "$.kind", f"kind must be one of {', '.join(KINDS)}")
        return None
    code_element = KINDS[kind].code_from
    code = resource.get(code_element)
    if not code:
        problems.add(artifact.file, json_path("$", code_element), f"required for kind {kind}")
    dynamic_values = []
    for i, item in enumerate(resource.get("dynamicValue") or []):
        path = json_path("$.dynamicValue", i)
        try:
            element_path = ElementPath.resolve(kind, item["path"])
        except PathError as exc:
            problems.add(artifact.file, json_path(path, "path"), f"{exc} (in {kind})")
            continue
        expression = compiler.compile_element(item.get("expression"), artifact.file, json_path(path, "expression"))
        if expression is not None:
            dynamic_values.append(DynamicValue(element_path, expression))
    used = resolve_libraries(artifact, index, libraries, problems)
    if not code:
        return None
    return CompiledActivity(artifact.id, artifact.key, kind, code, tuple(dynamic_values), used)
