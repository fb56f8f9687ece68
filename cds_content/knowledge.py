"""Adapter: a :class:`fhir_content.KnowledgeBase` as a CDS Hooks content provider.

One PlanDefinition is one CDS service. A content package builds its provider
as ``KnowledgeProvider(KnowledgeBase.load(...), languages=("en",), handouts=...)``;
the service then finds it through the ``bme_cds.content`` entry point without
knowing the topic.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cds_content.interface import DemoDataSource, HookCall, ServiceDefinition

if TYPE_CHECKING:
    from fhir_content import KnowledgeBase

    from cds_content.handouts import Handouts


class KnowledgeProvider:
    """Implements ``ContentProvider`` and ``KnowledgeSource`` (and ``HandoutSource`` / ``DemoDataSource`` when given).

    ``languages``: the primary language tags the content's cards and handouts
    come in, the fallback first. The handout and demo methods are bound on the
    instance only when given, so ``isinstance(provider, HandoutSource)`` tells
    the truth.
    """

    def __init__(
        self,
        kb: KnowledgeBase,
        *,
        languages: Sequence[str],
        handouts: Handouts | None = None,
        demo: DemoDataSource | None = None,
    ):
        if not languages:
            raise ValueError("a content provider declares at least one language")
        self.knowledge_base = kb
        self.languages: tuple[str, ...] = tuple(languages)
        self._services = [
            ServiceDefinition(
                id=plan.id,
                hook=plan.hook,
                title=plan.title,
                description=plan.description,
                prefetch=dict(plan.prefetch),
                usage_requirements=plan.usage,
            )
            for plan in kb.plans()
        ]
        if handouts is not None:
            self.handout_ids = handouts.handout_ids
            self.render_handout = handouts.render_handout
        if demo is not None:
            self.demo_bundles = demo.demo_bundles
            self.demo_hook_requests = demo.demo_hook_requests

    def services(self) -> list[ServiceDefinition]:
        return list(self._services)

    def evaluate(self, call: HookCall) -> list[dict[str, Any]]:
        from fhir_content import TextLimits  # here, so importing the interface never loads the engine

        return self.knowledge_base.evaluate(
            call.service_id,
            context=call.context,
            prefetch=call.prefetch,
            base_url=call.base_url,
            language=call.language,
            text_limits=TextLimits(per_value=call.max_text_chars, per_call=call.max_call_text_chars),
            deadline=call.deadline,
        )
