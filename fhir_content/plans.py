"""PlanDefinition: checked against the card mapping and compiled at load.

Every rule of docs/content-authoring.md that a card needs (summary length,
priority, topic, source, selection behaviour, override reasons with display,
suggestions that resolve to ActivityDefinitions) is checked here, so a plan
that loads always produces spec-valid cards.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from fhir_content.activities import CompiledActivity
from fhir_content.datacontext import DRAFT_ORDERS
from fhir_content.expressions import Expression, ExpressionCompiler, is_resource_type
from fhir_content.libraries import RESERVED_NAMES, CompiledLibrary, merge_libraries, resolve_libraries
from fhir_content.loader import Artifact, ArtifactIndex
from fhir_content.problems import Problems, json_path
from fhir_content.templates import TextTemplate

EXTENSION_BASE = "http://bme-cds.org/fhir/StructureDefinition/"
CARD_EVIDENCE = EXTENSION_BASE + "card-evidence"
OVERRIDE_REASON = EXTENSION_BASE + "override-reason"
IS_RECOMMENDED = EXTENSION_BASE + "is-recommended"
# The name of the check a warning or critical action stands for ("NSAID safety"), for its "check incomplete" card.
CHECK_NAME = EXTENSION_BASE + "check-name"

CARD_PRIORITIES = ("routine", "urgent", "stat")
SUGGESTION_PRIORITIES = ("routine", "urgent", "asap", "stat")
SELECTION_BEHAVIORS = ("any", "at-most-one")
ACTION_TYPES = ("create", "update", "remove")
SUMMARY_LIMIT = 140


@dataclass(frozen=True)
class Suggestion:
    """A nested action: one suggestion whose resource comes from an ActivityDefinition."""

    title: str
    description: str | None
    action_type: str
    priority: str | None
    is_recommended: bool | None
    activity: CompiledActivity
    conditions: tuple[Expression, ...]


@dataclass(frozen=True)
class CardRule:
    """A top-level action: one card when its conditions hold."""

    where: str
    title: str
    priority: str
    code: tuple[dict[str, Any], ...]
    documentation: tuple[dict[str, Any], ...]
    description: TextTemplate | None
    evidence: Expression | None
    conditions: tuple[Expression, ...]
    selection_behavior: str | None
    override_reasons: tuple[dict[str, Any], ...]
    suggestions: tuple[Suggestion, ...]
    #: The check's name for its "check incomplete" card (the check-name extension; ``None``: the title).
    check_name: str | None = None
    #: Per condition, the ``(resource type, value set or None)`` it reads, through Library variables too.
    condition_reads: tuple[frozenset[tuple[str, str | None]], ...] = ()


@dataclass(frozen=True)
class CompiledPlan:
    id: str
    key: str
    hook: str
    title: str
    description: str
    usage: str | None
    libraries: tuple[CompiledLibrary, ...]
    rules: tuple[CardRule, ...]
    inputs: tuple[dict[str, Any], ...]


@dataclass
class PlanCompiler:
    """Compiles PlanDefinitions against already-compiled libraries and activities."""

    index: ArtifactIndex
    compiler: ExpressionCompiler
    libraries: Mapping[str, CompiledLibrary]
    activities: Mapping[str, CompiledActivity]
    problems: Problems

    def compile(self, artifact: Artifact) -> CompiledPlan | None:
        r, file = artifact.resource, artifact.file
        start = len(self.problems)
        if not any(c.get("code") == "eca-rule" for c in (r.get("type") or {}).get("coding") or []):
            self.problems.add(file, "$.type", "must be eca-rule (http://terminology.hl7.org/CodeSystem/plan-definition-type)")
        for element in ("title", "description"):
            if not r.get(element):
                self.problems.add(file, json_path("$", element), "required: it is the CDS service's " + element)
        own_libraries = resolve_libraries(artifact, self.index, self.libraries, self.problems)
        plan_reasons = self._override_reasons(file, "$", r)
        actions = r.get("action") or []
        if not actions:
            self.problems.add(file, "$.action", "a plan needs at least one action (one card each)")
        hooks = {self._hook(file, json_path("$.action", i), a) for i, a in enumerate(actions)}
        hooks.discard(None)
        if len(hooks) > 1:
            self.problems.add(file, "$.action", f"all top-level actions must share one hook, found {', '.join(sorted(hooks))}")
        rules, inputs = [], []
        for i, action in enumerate(actions):
            path = json_path("$.action", i)
            rule = self._rule(file, path, action, plan_reasons)
            inputs.extend(self._inputs(file, path, action))
            for j, nested in enumerate(action.get("action") or []):
                inputs.extend(self._inputs(file, json_path(path, "action", j), nested))
            if rule:
                rules.append(replace(rule, condition_reads=tuple(_input_reads(action) for _ in rule.conditions)))
        libraries = merge_libraries([own_libraries, *(s.activity.libraries for rule in rules for s in rule.suggestions)])
        self._check_variable_names(file, libraries)
        variables: dict[str, list[Expression]] = {}
        for library in libraries:
            for variable in library.variables:
                variables.setdefault(variable.name, []).append(variable.expression)
        rules = [
            replace(rule, condition_reads=tuple(_reads(c, variables, own) for c, own in zip(rule.conditions, rule.condition_reads, strict=True)))
            for rule in rules
        ]
        if len(self.problems) > start:
            return None
        return CompiledPlan(
            id=artifact.id,
            key=artifact.key,
            hook=hooks.pop(),
            title=r["title"],
            description=r["description"],
            usage=r.get("usage"),
            libraries=libraries,
            rules=tuple(rules),
            inputs=tuple(inputs),
        )

    def _check_variable_names(self, file: str, libraries: tuple[CompiledLibrary, ...]) -> None:
        names: set[str] = set()
        for library in libraries:
            for variable in library.variables:
                if variable.name in names:
                    self.problems.add(file, "$.library", f"variable {variable.name} is defined by two libraries ({library.key})")
                names.add(variable.name)

    def _hook(self, file: str, path: str, action: Mapping[str, Any]) -> str | None:
        triggers = action.get("trigger") or []
        first = triggers[0] if triggers else {}
        if first.get("type") != "named-event" or not first.get("name"):
            self.problems.add(file, json_path(path, "trigger", 0), "needs type named-event and the hook name as name")
            return None
        return first["name"]

    def _rule(self, file: str, path: str, action: Mapping[str, Any], plan_reasons: tuple[dict, ...]) -> CardRule | None:
        start = len(self.problems)
        title = action.get("title") or ""
        if not title:
            self.problems.add(file, json_path(path, "title"), "required: it is the card summary")
        elif len(title) >= SUMMARY_LIMIT:
            self.problems.add(file, json_path(path, "title"), f"{len(title)} characters; a card summary must be under {SUMMARY_LIMIT}")
        priority = action.get("priority")
        if priority not in CARD_PRIORITIES:
            self.problems.add(file, json_path(path, "priority"), f"must be one of {', '.join(CARD_PRIORITIES)} (card indicator)")
        self._check_topic(file, path, action)
        self._check_documentation(file, path, action)
        selection = action.get("selectionBehavior")
        if selection is not None and selection not in SELECTION_BEHAVIORS:
            self.problems.add(file, json_path(path, "selectionBehavior"), f"must be one of {', '.join(SELECTION_BEHAVIORS)}")
        if action.get("dynamicValue"):
            self.problems.add(file, json_path(path, "dynamicValue"), "not supported on plan actions: put it on the ActivityDefinition")
        description = None
        if action.get("description"):
            description = TextTemplate.compile(action["description"], self.compiler, file, json_path(path, "description"))
        evidence = self._evidence(file, path, action)
        conditions = self._conditions(file, path, action)
        reasons = _unique(self._override_reasons(file, path, action) + plan_reasons)
        suggestions = tuple(
            s for j, nested in enumerate(action.get("action") or []) if (s := self._suggestion(file, json_path(path, "action", j), nested))
        )
        if len(self.problems) > start:
            return None
        check_name = next((e.get("valueString") for e in action.get("extension") or () if e.get("url") == CHECK_NAME), None)
        if check_name is not None and (not isinstance(check_name, str) or not check_name.strip()):
            self.problems.add(file, json_path(path, "extension"), "check-name needs a non-empty valueString")
            return None
        return CardRule(
            check_name=check_name,
            where=f"{file} {path}",
            title=title,
            priority=priority,
            code=tuple(action["code"]),
            documentation=tuple(action.get("documentation") or ()),
            description=description,
            evidence=evidence,
            conditions=conditions,
            selection_behavior=selection,
            override_reasons=reasons,
            suggestions=suggestions,
        )

    def _check_topic(self, file: str, path: str, action: Mapping[str, Any]) -> None:
        codes = action.get("code") or [{}]
        coding = (codes[0].get("coding") or [{}])[0]
        if not all(coding.get(k) for k in ("system", "code", "display")):
            self.problems.add(file, json_path(path, "code", 0, "coding", 0), "needs system, code and display (card source.topic)")

    def _check_documentation(self, file: str, path: str, action: Mapping[str, Any]) -> None:
        documentation = action.get("documentation") or []
        citations = [d for d in documentation if d.get("type") == "citation"]
        if not citations or not citations[0].get("display"):
            self.problems.add(file, json_path(path, "documentation"), "needs a citation with display (card source label)")
        for k, item in enumerate(documentation):
            if item.get("type") == "documentation" and not (item.get("display") and item.get("url")):
                self.problems.add(file, json_path(path, "documentation", k), "a documentation link needs display and url")

    def _evidence(self, file: str, path: str, action: Mapping[str, Any]) -> Expression | None:
        for i, extension in enumerate(action.get("extension") or []):
            if extension.get("url") == CARD_EVIDENCE:
                return self.compiler.compile_element(extension.get("valueExpression"), file, json_path(path, "extension", i, "valueExpression"))
        return None

    def _conditions(self, file: str, path: str, action: Mapping[str, Any]) -> tuple[Expression, ...]:
        compiled = []
        for i, condition in enumerate(action.get("condition") or []):
            cpath = json_path(path, "condition", i)
            if condition.get("kind") != "applicability":
                self.problems.add(file, json_path(cpath, "kind"), "only applicability conditions are supported")
                continue
            expression = self.compiler.compile_element(condition.get("expression"), file, json_path(cpath, "expression"))
            if expression is not None:
                compiled.append(expression)
        return tuple(compiled)

    def _override_reasons(self, file: str, path: str, element: Mapping[str, Any]) -> tuple[dict[str, Any], ...]:
        reasons = []
        for i, extension in enumerate(element.get("extension") or []):
            if extension.get("url") != OVERRIDE_REASON:
                continue
            coding = extension.get("valueCoding") or {}
            if not all(coding.get(k) for k in ("system", "code", "display")):
                self.problems.add(file, json_path(path, "extension", i, "valueCoding"), "an override reason needs system, code and display")
                continue
            reasons.append({"system": coding["system"], "code": coding["code"], "display": coding["display"]})
        return tuple(reasons)

    def _suggestion(self, file: str, path: str, action: Mapping[str, Any]) -> Suggestion | None:
        start = len(self.problems)
        if not action.get("title"):
            self.problems.add(file, json_path(path, "title"), "required: it is the suggestion label")
        canonical = action.get("definitionCanonical")
        target = self.index.resolve(canonical, "ActivityDefinition") if canonical else None
        activity = self.activities.get(target.key) if target else None
        if activity is None:
            self.problems.add(file, json_path(path, "definitionCanonical"), f"must name an ActivityDefinition (got {canonical})")
        action_type = ((action.get("type") or {}).get("coding") or [{}])[0].get("code", "create")
        if action_type not in ACTION_TYPES:
            self.problems.add(file, json_path(path, "type"), f"must be one of {', '.join(ACTION_TYPES)}")
        priority = action.get("priority")
        if priority is not None and priority not in SUGGESTION_PRIORITIES:
            self.problems.add(file, json_path(path, "priority"), f"must be one of {', '.join(SUGGESTION_PRIORITIES)}")
        if action.get("action"):
            self.problems.add(file, json_path(path, "action"), "suggestions cannot nest further actions")
        is_recommended = None
        for i, extension in enumerate(action.get("extension") or []):
            if extension.get("url") == IS_RECOMMENDED:
                if not isinstance(extension.get("valueBoolean"), bool):
                    self.problems.add(file, json_path(path, "extension", i), "is-recommended needs valueBoolean")
                is_recommended = extension.get("valueBoolean")
        conditions = self._conditions(file, path, action)
        if len(self.problems) > start or activity is None:
            return None
        return Suggestion(
            title=action["title"],
            description=action.get("description"),
            action_type=action_type,
            priority=priority,
            is_recommended=is_recommended,
            activity=activity,
            conditions=conditions,
        )

    def _inputs(self, file: str, path: str, action: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The action's DataRequirements, checked (prefetch templates are generated from them)."""
        inputs = []
        for i, requirement in enumerate(action.get("input") or []):
            rpath = json_path(path, "input", i)
            if not is_resource_type(requirement.get("type", "")):
                self.problems.add(file, json_path(rpath, "type"), f"{requirement.get('type')!r} is not a FHIR resource type")
                continue
            ok = True
            for k, code_filter in enumerate(requirement.get("codeFilter") or []):
                vs = code_filter.get("valueSet")
                if not vs or not self.compiler.terminology.knows(vs):
                    self.problems.add(file, json_path(rpath, "codeFilter", k, "valueSet"), f"needs a loaded value set (got {vs})")
                    ok = False
            if ok:
                inputs.append(requirement)
        return inputs


# What each engine-defined %name reads of the request's data (the others read none of it).
_BUILTIN_READS: Mapping[str, frozenset[tuple[str, str | None]]] = {
    "patient": frozenset({("Patient", None)}),
    "ageYears": frozenset({("Patient", None)}),
    **dict.fromkeys(("draftOrders", "selections", "context"), frozenset({(DRAFT_ORDERS, None)})),
}


def _input_reads(action: Mapping[str, Any]) -> frozenset[tuple[str, str | None]]:
    """What an action says it needs (its ``input`` DataRequirements), for names the engine cannot see into."""
    reads = set()
    for requirement in action.get("input") or ():
        value_sets = [f.get("valueSet") for f in requirement.get("codeFilter") or ()] or [None]
        reads.update((requirement["type"], vs) for vs in value_sets)
    return frozenset(reads | {(DRAFT_ORDERS, None)})


def _reads(
    expression: Expression, variables: Mapping[str, Iterable[Expression]], fallback: frozenset[tuple[str, str | None]]
) -> frozenset[tuple[str, str | None]]:
    """What ``expression`` reads, following ``%`` names into Library variables.

    A name that is neither a variable nor an engine built-in is a derived fact
    computed in code, whose reads cannot be seen: it counts as ``fallback``
    (the action's declared inputs).
    """
    reads: set[tuple[str, str | None]] = set()
    pending, done = [expression], set()
    while pending:
        current = pending.pop()
        reads |= current.reads
        for name in current.names - done:
            done.add(name)
            if name in variables:
                pending.extend(variables[name])
            elif name in _BUILTIN_READS:
                reads |= _BUILTIN_READS[name]
            elif name not in RESERVED_NAMES:
                reads |= fallback
    return frozenset(reads)


def _unique(codings: Sequence[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    seen, unique = set(), []
    for coding in codings:
        if (coding["system"], coding["code"]) not in seen:
            seen.add((coding["system"], coding["code"]))
            unique.append(coding)
    return tuple(unique)
