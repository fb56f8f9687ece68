"""Example content package: remind to check kidney function once a year in chronic kidney disease.

A minimal second topic beside the BME content, built only on the content
interface (:mod:`cds_content`) and the engine (:mod:`fhir_content`): one
PlanDefinition (one CDS service, ``ckd-checkup``), its Library, an
ActivityDefinition, two ValueSets, and an English handout. The service
finds it through the ``bme_cds.content`` entry point named ``ckd-checkup``
(see this package's ``pyproject.toml`` and docs/content-authoring.md).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from cds_content import KnowledgeProvider
from cds_content.handouts import Handouts
from fhir_content import KnowledgeBase

LANGUAGES = ("en",)
PACKAGE = files(__package__)


def provider() -> KnowledgeProvider:
    """Load, validate and compile the content once; the service calls this at startup."""
    return KnowledgeProvider(
        KnowledgeBase.load(PACKAGE / "content"),
        languages=LANGUAGES,
        handouts=Handouts(Path(str(PACKAGE / "handouts"))),
    )
