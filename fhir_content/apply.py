"""PlanDefinition ``$apply``: compiled plan + request scope -> RequestGroup (plain JSON).

Failure policy (an expression that fails at run time never fails the request):

- a condition of a top-level action fails -> that card is skipped;
- its detail placeholders or evidence fail -> the card is kept without a detail;
- a suggestion's condition or dynamic value fails -> that suggestion is dropped.

Each failure is logged with the artifact file and JSON path and the error
type, never with patient data.
"""

from __future__ import annotations

import logging
from typing import Any

from fhir_content.expressions import ExpressionError, Scope
from fhir_content.plans import IS_RECOMMENDED, OVERRIDE_REASON, CardRule, CompiledPlan, Suggestion

log = logging.getLogger(__name__)

ACTION_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/action-type"
EVIDENCE_LABEL = "**Why this card:**"


def patient_reference(patient_id: Any) -> str | None:
    """``Patient/<id>`` from a bare id or an existing ``Patient/<id>`` reference (``None`` without one)."""
    if not isinstance(patient_id, str) or not patient_id:
        return None
    return patient_id if "/" in patient_id else f"Patient/{patient_id}"


def apply_plan(plan: CompiledPlan, scope: Scope, subject: str | None) -> dict[str, Any]:
    """The RequestGroup of one plan for one patient: one action per applicable top-level action.

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
        try:
            applicable = all(condition.holds(scope) for condition in rule.conditions)
        except ExpressionError as exc:
            log.error("card skipped, condition failed: %s", exc)
            continue
        if applicable:
            actions.append(_action(rule, number, scope, subject, contained))
    if actions:
        group["action"] = actions
    if contained:
        group["contained"] = contained
    return group


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
