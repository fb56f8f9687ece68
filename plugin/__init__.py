"""The bone marrow edema (BME) content package.

Clinical knowledge lives in FHIR artifacts under ``plugin/content`` (see
docs/bme-content.md); MRI report reading in ``plugin/findings.py``, joined
with the painful sites and report red flags in ``plugin/facts.py``; patient
handouts in ``plugin/handouts``; synthetic demo patients in ``plugin/demo``.
The service finds this package through the ``bme_cds.content`` entry point,
which names :func:`provider`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cds_content import KnowledgeProvider

LANGUAGES = ("en", "es")


def provider() -> KnowledgeProvider:
    """Load, validate, expand and compile the BME content once, with its derived facts and handouts.

    Imports happen here, not at module import, so that importing ``plugin``
    (e.g. for ``plugin.build_valuesets``) stays cheap and free of side effects.
    """
    from importlib.resources import files

    from cds_content import KnowledgeProvider
    from fhir_content import KnowledgeBase
    from plugin import facts
    from plugin.demo import DemoPatients
    from plugin.handouts import bme_handouts

    knowledge_base = KnowledgeBase.load(files("plugin") / "content", derived_facts=[facts.derive_facts])
    return KnowledgeProvider(
        knowledge_base, languages=LANGUAGES, handouts=bme_handouts(), demo=DemoPatients(knowledge_base.plans())
    )
