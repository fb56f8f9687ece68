"""The interface a content package depends on (documented in docs/content-authoring.md).

A content package exposes, under the ``bme_cds.content`` entry-point group, a
zero-argument factory returning a :class:`ContentProvider`. Most packages
build it as ``KnowledgeProvider(KnowledgeBase.load(...), languages=...)``
from FHIR artifacts, and may use the generic helpers beside it:
:mod:`cds_content.handouts` (handout pages from bilingual JSON) and
:mod:`cds_content.demo` (synthetic patients and hook requests for tests and
demo mode).

Importing this package imports neither Flask nor the service (``cds_hooks``)
nor the engine (``fhir_content``): the service depends on the interface, not
the other way round.
"""

from cds_content import interface
from cds_content.interface import *  # noqa: F403 - the interface is this package's API
from cds_content.knowledge import KnowledgeProvider

__all__ = [*interface.__all__, "KnowledgeProvider"]
