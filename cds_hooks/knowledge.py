"""Adapter: a :class:`fhir_content.KnowledgeBase` as a CDS Hooks content provider.

One PlanDefinition is one CDS service. A content package builds its provider
as ``KnowledgeProvider(KnowledgeBase.load(...), handouts=...)``; the service
then finds it through the ``bme_cds.content`` entry point without knowing the
topic.
"""

from __future__ import annotations

from typing import Any

from fhir_content import KnowledgeBase, TextLimits

from cds_hooks.content import DemoDataSource, HandoutSource, HookCall, ServiceDefinition


class KnowledgeProvider:
    """Implements ``ContentProvider`` (and ``HandoutSource`` / ``DemoDataSource`` when given).

    The handout and demo methods are bound on the instance only when given,
    so ``isinstance(provider, HandoutSource)`` tells the truth.
    """

    def __init__(self, kb: KnowledgeBase, handouts: HandoutSource | None = None, demo: DemoDataSource | None = None):
        self.knowledge_base = kb
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
        return self.knowledge_base.evaluate(
            call.service_id,
            context=call.context,
            prefetch=call.prefetch,
            base_url=call.base_url,
            language=call.language,
            text_limits=TextLimits(per_value=call.max_text_chars, per_call=call.max_call_text_chars),
            deadline=call.deadline,
        )
