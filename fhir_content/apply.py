"""PlanDefinition ``$apply``: compiled plan + request scope -> RequestGroup (plain JSON).

Failure policy (an expression that fails at run time never fails the request,
and never silently removes a warning):

- a condition of a ``routine`` (info) action fails -> that card is skipped;
- an ``urgent`` or ``stat`` (warning, critical) action gives no card because a
  condition failed, or because a condition that came out false read data that
  was left out as unreadable (:mod:`fhir_content.readable`) -> a *check
  incomplete* card in its place, with the action's priority, topic and
  source, naming the check (the ``check-name`` extension, else the action's
  title) and why it could not be completed;
- its detail placeholders or evidence fail -> the card is kept without a detail;
- a suggestion's condition or dynamic value fails -> that suggestion is dropped.

Each failure is logged with the artifact file and JSON path and the error
type, never with patient data.
"""

from __future__ import annotations

import logging
from typing import Any

from fhir_content.datacontext import DRAFT_ORDERS, LeftOut
from fhir_content.expressions import ExpressionError, Scope
from fhir_content.plans import IS_RECOMMENDED, OVERRIDE_REASON, CardRule, CompiledPlan, Suggestion
from fhir_content.terminology import Terminology

log = logging.getLogger(__name__)

ACTION_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/action-type"
EVIDENCE_LABEL = "**Why this card:**"
# Actions whose card is a warning or critical: they never just disappear.
SAFETY_PRIORITIES = ("urgent", "stat")
SUMMARY_LIMIT = 140
_REASONS_SHOWN = 3


def patient_reference(patient_id: Any) -> str | None:
    """``Patient/<id>`` from a bare id or an existing ``Patient/<id>`` reference (``None`` without one)."""
    if not isinstance(patient_id, str) or not patient_id:
        return None
    return patient_id if "/" in patient_id else f"Patient/{patient_id}"


def apply_plan(plan: CompiledPlan, scope: Scope, subject: str | None, terminology: Terminology) -> dict[str, Any]:
    """The RequestGroup of one plan for one patient: one action per applicable top-level action.

    A warning or critical action that could not be fully evaluated gives its
    *check incomplete* action instead (module docstring).

    Applied ActivityDefinitions are ``contained`` and referenced from the
    nested actions' ``resource`` (``#id``); a ``remove`` suggestion references
    the existing resource instead.
    """
    group: dict[str, Any] = {
        "resourceType": "RequestGroup",
        "instantiatesCanonical": [plan.key],
        "status": "draft",
        "intent": "proposal",
    }
    if subject:
        group["subject"] = {"reference": subject}
    contained: list[dict[str, Any]] = []
    actions = []
    for number, rule in enumerate(plan.rules):
        scope.view.check_deadline()
        incomplete = _incomplete_because(rule, scope, terminology)
        if incomplete is None:
            actions.append(_action(rule, number, scope, subject, contained))
        elif incomplete:
            actions.append(_incomplete_action(rule, incomplete))
    if actions:
        group["action"] = actions
    if contained:
        group["contained"] = contained
    return group


def _incomplete_because(rule: CardRule, scope: Scope, terminology: Terminology) -> list[str] | None:
    """``None`` when the action applies; else why its check is incomplete (empty: it does not apply, and that is sure).

    Conditions are tried in order, as ``all`` would. Only a warning or
    critical action is ever reported incomplete; an info action that fails
    is skipped with a log line.
    """
    for condition, reads in zip(rule.conditions, rule.condition_reads, strict=True):
        try:
            holds = condition.holds(scope)
        except ExpressionError as exc:
            if rule.priority not in SAFETY_PRIORITIES:
                log.error("card skipped, condition failed: %s", exc)
                return []
            log.error("check incomplete, condition failed: %s", exc)
            return ["the record could not be evaluated", *_left_out_reasons(reads, scope, terminology)]
        if not holds:
            return _left_out_reasons(reads, scope, terminology) if rule.priority in SAFETY_PRIORITIES else []
    return None


def _left_out_reasons(reads: frozenset[tuple[str, str | None]], scope: Scope, terminology: Terminology) -> list[str]:
    """One reason per left-out element the reads may have needed: the resource type, the value set, the element."""
    reasons: dict[str, None] = {}
    for resource_type, vs_url in sorted(reads, key=lambda read: (read[0], read[1] or "")):
        kinds = scope.view.left_out_types() if resource_type == "*" else (resource_type,)
        for kind in kinds:
            for entry in scope.view.left_out(kind):
                if _may_match(entry, vs_url, terminology):
                    reasons[_reason(entry, kind, vs_url, terminology)] = None
    return list(reasons)


def _may_match(entry: LeftOut, vs_url: str | None, terminology: Terminology) -> bool:
    return vs_url is None or entry.value_set_keys is None or terminology.resolve(vs_url) in entry.value_set_keys


def _reason(entry: LeftOut, kind: str, vs_url: str | None, terminology: Terminology) -> str:
    what = "a draft order" if kind == DRAFT_ORDERS else f"{'an' if entry.resource_type[:1] in ('A', 'E', 'I', 'O', 'U') else 'a'} {entry.resource_type}"
    if vs_url is not None and entry.value_set_keys:
        what += f" ({terminology.title(vs_url)})"
    return f"{what} {entry.why} ({entry.path})"


def _incomplete_action(rule: CardRule, reasons: list[str]) -> dict[str, Any]:
    """The action that stands in for a warning that could not be checked: what, why, and what to do."""
    summary = f"{rule.check_name} check incomplete" if rule.check_name else f"Check incomplete: {rule.title}"
    if len(summary) >= SUMMARY_LIMIT:
        summary = summary[: SUMMARY_LIMIT - 2].rstrip() + "…"
    shown = reasons[:_REASONS_SHOWN] + ([f"{len(reasons) - _REASONS_SHOWN} more"] if len(reasons) > _REASONS_SHOWN else [])
    detail = (
        f"This check could not be completed, so a warning about \"{rule.title}\" may be missing: {'; '.join(shown)}. "
        "Review the record yourself before relying on the absence of this warning."
    )
    return {"title": summary, "priority": rule.priority, "code": list(rule.code), "description": detail,
            "documentation": list(rule.documentation)}  # fmt: skip


def _action(rule: CardRule, number: int, scope: Scope, subject: str | None, contained: list[dict]) -> dict[str, Any]:
    action: dict[str, Any] = {"title": rule.title, "priority": rule.priority, "code": list(rule.code)}
    detail = _detail(rule, scope)
    if detail:
        action["description"] = detail
    if rule.documentation:
        action["documentation"] = list(rule.documentation)
    if rule.override_reasons:
        action["extension"] = [{"url": OVERRIDE_REASON, "valueCoding": dict(c)} for c in rule.override_reasons]
    nested = []
    for index, suggestion in enumerate(rule.suggestions):
        try:
            applied = _suggestion(suggestion, f"card{number}-suggestion{index}", scope, subject, contained)
        except ExpressionError as exc:
            log.error("suggestion dropped, expression failed: %s", exc)
            continue
        if applied:
            nested.append(applied)
    if nested:
        action["selectionBehavior"] = rule.selection_behavior or "any"
        action["action"] = nested
    return action


def _detail(rule: CardRule, scope: Scope) -> str | None:
    try:
        text = rule.description.render(scope).strip() if rule.description else ""
        evidence = "; ".join(s for s in rule.evidence.strings(scope) if s.strip()) if rule.evidence else ""
    except ExpressionError as exc:
        log.error("card detail omitted, expression failed: %s", exc)
        return None
    if evidence:
        text = f"{text}\n\n{EVIDENCE_LABEL} {evidence}" if text else f"{EVIDENCE_LABEL} {evidence}"
    return text or None


def _suggestion(
    suggestion: Suggestion, local_id: str, scope: Scope, subject: str | None, contained: list[dict]
) -> dict[str, Any] | None:
    if not all(condition.holds(scope) for condition in suggestion.conditions):
        return None
    resource = suggestion.activity.apply(scope, subject)
    if suggestion.action_type == "create":
        resource["id"] = local_id
    elif not resource.get("id"):
        log.error("suggestion dropped: %s needs an id from a dynamicValue of %s", suggestion.action_type, suggestion.activity.key)
        return None
    action: dict[str, Any] = {
        "title": suggestion.title,
        "type": {"coding": [{"system": ACTION_TYPE_SYSTEM, "code": suggestion.action_type}]},
    }
    if suggestion.description:
        action["description"] = suggestion.description
    if suggestion.priority:
        action["priority"] = suggestion.priority
    if suggestion.is_recommended is not None:
        action["extension"] = [{"url": IS_RECOMMENDED, "valueBoolean": suggestion.is_recommended}]
    if suggestion.action_type == "remove":
        action["resource"] = {"reference": f"{resource['resourceType']}/{resource['id']}"}
    else:
        contained.append(resource)
        action["resource"] = {"reference": f"#{resource['id']}"}
    return action
