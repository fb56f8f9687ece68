"""``POST /cds-services/{id}/feedback``: what the clinician did with our cards (CDS Hooks 2.0.1).

The body is checked field by field (a 400 names the field at fault), then the
whole body is stored in one transaction: feedback about a card this service
never issued, or accepting a suggestion the card never offered, stores nothing.
The sandbox sends ``overrideReason.reason`` as ``{code, system}`` without a
display; that is accepted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, jsonify

from cds_hooks import errors
from cds_hooks.auth import authenticate
from cds_hooks.hooks import read_body, refuse_declared_oversize, require_json
from cds_hooks.runtime import current_runtime
from cds_hooks.store import FeedbackItem, OverrideReason, StoreUnavailable, UnknownCard, UnknownSuggestion
from cds_hooks.strict_json import InvalidJson, parse_json

bp = Blueprint("feedback", __name__)

OUTCOMES = ("accepted", "overridden")


@bp.post("/cds-services/<service_id>/feedback")
def post_feedback(service_id: str) -> Response:
    """Unknown service first (404), then the content type (415), the body size (413), the token (401), the body (400), as for hook calls.

    The body is read with the hook calls' reader and parser, so a chunked body
    is held to the size limit and odd JSON (duplicate keys, ``NaN``, absurd
    nesting) is a 400, never a 500.
    """
    if service_id not in current_runtime().registry:
        raise errors.ApiError(404, f"no CDS service with id {service_id!r}", code="not-found")
    require_json()
    refuse_declared_oversize()
    tenant = authenticate()
    raw = read_body()
    runtime = current_runtime()
    try:
        body = parse_json(raw)
    except InvalidJson as exc:
        raise errors.bad_request(str(exc)) from None
    items = parse_feedback(body, runtime.settings.feedback_max_entries, runtime.settings.feedback_max_comment_chars)
    try:
        runtime.store.record_feedback(service_id, tenant, items)
    except UnknownCard as exc:
        raise errors.bad_request(
            f"card {exc.card_uuid!r} was not issued by service {service_id!r}", field=f"feedback[{exc.index}].card"
        ) from None
    except UnknownSuggestion as exc:
        raise errors.bad_request(
            f"suggestion {exc.suggestion_uuid!r} was not offered by this card",
            field=f"feedback[{exc.index}].acceptedSuggestions[{exc.suggestion_index}].id",
        ) from None
    except StoreUnavailable:
        raise errors.unavailable("feedback not stored: the database is unavailable; send it again later") from None
    return jsonify({"stored": len(items)})


def parse_feedback(body: Any, max_entries: int, max_comment_chars: int) -> list[FeedbackItem]:
    """Validate a feedback body's shape and turn it into store records.

    Raises a 400 naming the field, or a 413 for more than ``max_entries`` entries.
    """
    if not isinstance(body, dict):
        raise errors.bad_request("the body must be a JSON object")
    entries = body.get("feedback")
    if not isinstance(entries, list) or not entries:
        raise errors.bad_request("feedback must be a non-empty array", field="feedback")
    if len(entries) > max_entries:
        raise errors.ApiError(413, f"at most {max_entries} feedback entries per body", code="content-too-large", field="feedback")
    return [_parse_item(entry, f"feedback[{i}]", max_comment_chars) for i, entry in enumerate(entries)]


def _parse_item(entry: Any, where: str, max_comment_chars: int) -> FeedbackItem:
    if not isinstance(entry, dict):
        raise errors.bad_request("each feedback entry must be an object", field=where)
    card = _required_string(entry, "card", where)
    outcome = entry.get("outcome")
    if outcome not in OUTCOMES:
        raise errors.bad_request("outcome must be 'accepted' or 'overridden'", field=f"{where}.outcome")
    accepted: tuple[str, ...] = ()
    if outcome == "accepted":
        accepted = _accepted_suggestions(entry.get("acceptedSuggestions"), f"{where}.acceptedSuggestions")
    elif "acceptedSuggestions" in entry:
        raise errors.bad_request("acceptedSuggestions is only allowed when outcome is 'accepted'", field=f"{where}.acceptedSuggestions")
    reason = None
    if "overrideReason" in entry:
        if outcome != "overridden":
            raise errors.bad_request("overrideReason is only allowed when outcome is 'overridden'", field=f"{where}.overrideReason")
        reason = _override_reason(entry["overrideReason"], f"{where}.overrideReason", max_comment_chars)
    return FeedbackItem(
        card_uuid=card,
        outcome=outcome,
        outcome_timestamp=_timestamp(entry.get("outcomeTimestamp"), f"{where}.outcomeTimestamp"),
        accepted_suggestions=accepted,
        override_reason=reason,
    )


def _accepted_suggestions(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise errors.bad_request("acceptedSuggestions is required (a non-empty array) when outcome is 'accepted'", field=where)
    ids = []
    for i, suggestion in enumerate(value):
        if not isinstance(suggestion, dict):
            raise errors.bad_request("each accepted suggestion must be an object with an id", field=f"{where}[{i}]")
        ids.append(_required_string(suggestion, "id", f"{where}[{i}]"))
    return tuple(ids)


def _override_reason(value: Any, where: str, max_comment_chars: int) -> OverrideReason:
    if not isinstance(value, dict) or not ({"reason", "userComment"} & set(value)):
        raise errors.bad_request("overrideReason must be an object with reason and/or userComment", field=where)
    comment = value.get("userComment")
    if comment is not None and (not isinstance(comment, str) or not comment):
        raise errors.bad_request("userComment must be a non-empty string", field=f"{where}.userComment")
    if comment is not None and len(comment) > max_comment_chars:
        raise errors.bad_request(f"userComment must be at most {max_comment_chars} characters", field=f"{where}.userComment")
    if "reason" not in value:
        return OverrideReason(user_comment=comment)
    coding = value["reason"]
    if not isinstance(coding, dict):
        raise errors.bad_request("reason must be a Coding object", field=f"{where}.reason")
    display = coding.get("display")
    if display is not None and (not isinstance(display, str) or not display):
        raise errors.bad_request("display must be a non-empty string", field=f"{where}.reason.display")
    return OverrideReason(
        system=_required_string(coding, "system", f"{where}.reason"),
        code=_required_string(coding, "code", f"{where}.reason"),
        display=display,
        user_comment=comment,
    )


def _timestamp(value: Any, where: str) -> datetime:
    """An RFC 3339 date-time with a time zone (``Z`` or an offset), as UTC; one UTC cannot hold is refused too."""
    if isinstance(value, str) and "T" in value.upper():
        try:
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is not None:
                return parsed.astimezone(UTC)
        except (ValueError, OverflowError):  # OverflowError: an offset moves it past year 1 or 9999
            pass
    raise errors.bad_request("outcomeTimestamp must be an RFC 3339 date-time such as 2021-12-11T10:05:31Z", field=where)


def _required_string(obj: dict[str, Any], name: str, where: str) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not value:
        raise errors.bad_request(f"{name} is required (a non-empty string)", field=f"{where}.{name}")
    return value
