"""The knowledge engine: FHIR PlanDefinition / ActivityDefinition / ValueSet / Library -> CDS Hooks cards.

Knows nothing about Flask, HTTP or any clinical topic. See docs/engine.md for
the architecture and docs/content-authoring.md for the content contract.
"""

from fhir_content.datacontext import DataView, EvaluationTimeout
from fhir_content.expressions import ExpressionError
from fhir_content.knowledge import KnowledgeBase, ServicePlan, UnknownArtifact
from fhir_content.problems import ContentLoadError, Problem
from fhir_content.readable import TextLimits
from fhir_content.terminology import UnknownValueSet

__all__ = [
    "ContentLoadError",
    "DataView",
    "EvaluationTimeout",
    "ExpressionError",
    "KnowledgeBase",
    "Problem",
    "ServicePlan",
    "TextLimits",
    "UnknownArtifact",
    "UnknownValueSet",
]
