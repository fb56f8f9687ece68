"""The knowledge base: load once (parse, validate, expand, compile), then answer requests with lookups.

``KnowledgeBase.load`` runs every check of ``bme-cds validate`` and refuses
content with any problem, so a running service only ever holds content that
produces spec-valid cards. Per request, :meth:`KnowledgeBase.evaluate` builds
the data index and the Library variables once, then runs each action's
compiled conditions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from fhir_content.activities import CompiledActivity, compile_activity
from fhir_content.apply import apply_plan, patient_reference
from fhir_content.cards import cards_from_request_group
from fhir_content.datacontext import DataView
from fhir_content.environment import DerivedFacts, build_scope
from fhir_content.expressions import ExpressionCompiler
from fhir_content.libraries import CompiledLibrary, compile_library
from fhir_content.loader import ArtifactIndex, read_artifacts
from fhir_content.plans import CompiledPlan, PlanCompiler
from fhir_content.prefetch import prefetch_templates
from fhir_content.readable import ResourceReader, TextLimits
from fhir_content.problems import ContentLoadError, Problems
from fhir_content.terminology import Terminology, check_icd10cm_codings


class UnknownArtifact(KeyError):
    """No PlanDefinition / ActivityDefinition with that id."""

    def __str__(self) -> str:
        return f"unknown {self.args[0]} {self.args[1]!r}"


@dataclass(frozen=True)
class ServicePlan:
    """What discovery needs about one plan (one CDS service)."""

    id: str
    hook: str
    title: str
    description: str
    usage: str | None
    prefetch: dict[str, str]


@dataclass(frozen=True)
class CompiledContent:
    index: ArtifactIndex
    terminology: Terminology
    libraries: Mapping[str, CompiledLibrary]
    activities: Mapping[str, CompiledActivity]
    plans: Mapping[str, CompiledPlan]
    #: The element names the content's expressions navigate (checked when patient data is read).
    element_names: frozenset[str]


def compile_content(source: Path | Traversable, problems: Problems) -> CompiledContent:
    """Every load step in order; each reports into ``problems`` and carries on, so all problems show."""
    artifacts = read_artifacts(source, problems)
    index = ArtifactIndex(artifacts, problems)
    for artifact in index.all():
        check_icd10cm_codings(artifact, problems)
    terminology = Terminology.build(index, problems)
    compiler = ExpressionCompiler(terminology, problems)
    libraries = {a.key: compile_library(a, compiler, problems) for a in index.all("Library")}
    activities = {
        a.key: activity
        for a in index.all("ActivityDefinition")
        if (activity := compile_activity(a, compiler, index, libraries, problems))
    }
    plan_compiler = PlanCompiler(index, compiler, libraries, activities, problems)
    plans = {a.id: plan for a in index.all("PlanDefinition") if (plan := plan_compiler.compile(a))}
    return CompiledContent(index, terminology, libraries, activities, plans, compiler.members)


class KnowledgeBase:
    """Compiled knowledge artifacts of one content directory, ready to evaluate hook requests."""

    def __init__(self, content: CompiledContent, source: Path | Traversable, derived_facts: Sequence[DerivedFacts]):
        self._content = content
        self.source = source
        self._derived_facts = tuple(derived_facts)
        self._activities_by_id = {a.id: a for a in content.activities.values()}
        self._service_plans = [
            ServicePlan(
                id=plan.id,
                hook=plan.hook,
                title=plan.title,
                description=plan.description,
                usage=plan.usage,
                prefetch=prefetch_templates(plan.inputs, content.terminology),
            )
            for plan in sorted(content.plans.values(), key=lambda p: p.id)
        ]

    @classmethod
    def load(cls, source: Path | Traversable, derived_facts: Sequence[DerivedFacts] = ()) -> KnowledgeBase:
        """Load a directory of ``*.json`` artifacts; raises :class:`ContentLoadError` listing every problem.

        ``derived_facts`` are functions called once per request with the
        request's :class:`DataView`; the mappings they return become FHIRPath
        variables (``%name``).
        """
        problems = Problems()
        content = compile_content(source, problems)
        if problems:
            raise ContentLoadError(problems.as_list())
        return cls(content, source, derived_facts)

    @property
    def terminology(self) -> Terminology:
        return self._content.terminology

    @property
    def artifacts(self) -> ArtifactIndex:
        return self._content.index

    def plans(self) -> list[ServicePlan]:
        return list(self._service_plans)

    def evaluate(
        self,
        plan_id: str,
        *,
        context: Mapping[str, Any],
        prefetch: Mapping[str, Any],
        base_url: str,
        language: str = "en",
        text_limits: TextLimits | None = None,
        deadline: float | None = None,
    ) -> list[dict[str, Any]]:
        """The CDS Hooks cards of one hook call (``uuid`` on every card and suggestion).

        ``text_limits`` bound the text the rules read; past ``deadline`` (a
        ``time.monotonic()`` value) evaluation stops with :class:`EvaluationTimeout`.
        """
        view = DataView(self.terminology, context, prefetch, self._reader(text_limits), deadline=deadline)
        group = self._request_group(plan_id, view, base_url, language)
        return cards_from_request_group(group, base_url=base_url, language=language)

    def apply_plan(
        self,
        plan_id: str,
        *,
        subject: str,
        data: Sequence[Mapping[str, Any]],
        context: Mapping[str, Any] | None = None,
        base_url: str = "",
        language: str = "en",
    ) -> dict[str, Any]:
        """PlanDefinition ``$apply`` for a patient (``Patient/<id>`` or the bare id) and their data."""
        full_context = _context_for(subject, context)
        view = DataView(self.terminology, full_context, _as_prefetch(data), self._reader())
        return self._request_group(plan_id, view, base_url, language)

    def apply_activity(
        self,
        activity_id: str,
        *,
        subject: str,
        data: Sequence[Mapping[str, Any]],
        context: Mapping[str, Any] | None = None,
        base_url: str = "",
        language: str = "en",
    ) -> dict[str, Any]:
        """ActivityDefinition ``$apply``: the draft request resource for a patient."""
        activity = self._activities_by_id.get(activity_id)
        if activity is None:
            raise UnknownArtifact("ActivityDefinition", activity_id)
        full_context = _context_for(subject, context)
        view = DataView(self.terminology, full_context, _as_prefetch(data), self._reader())
        scope = build_scope(
            view, base_url=base_url, language=language, libraries=activity.libraries, derived_facts=self._derived_facts
        )
        return activity.apply(scope, patient_reference(full_context["patientId"]))

    def _reader(self, text_limits: TextLimits | None = None) -> ResourceReader:
        """A reader for one request's data: the content's element names checked, text within ``text_limits``."""
        return ResourceReader(self._content.element_names, text_limits or TextLimits())

    def _request_group(self, plan_id: str, view: DataView, base_url: str, language: str) -> dict[str, Any]:
        plan = self._content.plans.get(plan_id)
        if plan is None:
            raise UnknownArtifact("PlanDefinition", plan_id)
        scope = build_scope(
            view, base_url=base_url, language=language, libraries=plan.libraries, derived_facts=self._derived_facts
        )
        return apply_plan(plan, scope, patient_reference(view.context.get("patientId")), self.terminology)


def _context_for(subject: str, context: Mapping[str, Any] | None) -> dict[str, Any]:
    """A hook-like context for ``$apply``: the given one, with ``patientId`` from the subject."""
    return {**(context or {}), "patientId": subject.rpartition("/")[2]}


def _as_prefetch(data: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {str(i): item for i, item in enumerate(data)}
