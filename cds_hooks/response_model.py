"""Pydantic models of the CDS Hooks 2.0.1 bodies this service sends or receives.

One validator for the wire format, used by the hook endpoint as a last check on
every answer and by every test: the discovery response, the card response
(cards and systemActions) and the feedback body. The models follow the spec
tables exactly: unknown fields are refused (``extra="forbid"``, except the
reserved ``extension`` object), types are strict (``"true"`` is not a boolean)
and no value may be ``null``, ``""``, ``[]`` or ``{}`` - the spec's general
JSON rule - except the ``cards`` array, which may be empty.

FHIR resources inside actions are checked only for being a non-empty object
with a ``resourceType`` and no empty values; validating them against FHIR is
the content validator's job, done once at load time, not per request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

__all__ = [
    "CardResponse",
    "DiscoveryResponse",
    "FeedbackRequest",
    "ValidationError",
    "first_problem",
    "validate_cards",
    "validate_discovery",
    "validate_feedback",
]

Text = Annotated[str, StringConstraints(min_length=1)]


def _absolute_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an absolute http(s) URL")
    return value


def _no_empty_values(value: Any, path: str = "") -> Any:
    """Refuse ``null``, ``""``, ``[]`` and ``{}`` anywhere inside free-form JSON."""
    if value is None or (isinstance(value, (str, list, dict)) and not value):
        raise ValueError(f"empty value at {path or 'top level'}")
    if isinstance(value, dict):
        for key, item in value.items():
            _no_empty_values(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _no_empty_values(item, f"{path}[{index}]")
    return value


def _fhir_resource(value: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(value.get("resourceType"), str) or not value["resourceType"]:
        raise ValueError("a FHIR resource needs a resourceType")
    return _no_empty_values(value)


def _rfc3339(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("must be an RFC 3339 date-time") from None
    if "T" not in value or moment.tzinfo is None:
        raise ValueError("must be an RFC 3339 date-time with a time zone (UTC)")
    return value


Url = Annotated[str, AfterValidator(_absolute_url)]
Extension = Annotated[dict[str, Any], AfterValidator(_no_empty_values)]
FhirResource = Annotated[dict[str, Any], AfterValidator(_fhir_resource)]
Timestamp = Annotated[str, AfterValidator(_rfc3339)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        # Optional fields default to None, but an explicit JSON null is forbidden.
        if isinstance(data, dict):
            for key, value in data.items():
                if value is None:
                    raise ValueError(f"{key} must be omitted, not null")
        return data


# --- shared data types -----------------------------------------------------------


class Coding(_Model):
    """The spec's trimmed-down Coding (``display`` optional, e.g. for ``source.topic``)."""

    code: Text
    system: Text
    display: Text | None = None


class DisplayedCoding(Coding):
    """A Coding the service offers to a user (override reasons): ``display`` is required."""

    display: Text


class Action(_Model):
    """A suggested (or system) action: create/update carry a resource, delete names one."""

    type: Literal["create", "update", "delete"]
    description: Text
    resource: FhirResource | None = None
    resourceId: Text | None = None

    @model_validator(mode="after")
    def _target_present(self) -> Action:
        if self.type in ("create", "update") and self.resource is None:
            raise ValueError(f"a {self.type} action needs a resource")
        if self.type == "delete" and self.resource is None and self.resourceId is None:
            raise ValueError("a delete action needs a resourceId")
        return self


# --- discovery --------------------------------------------------------------------


class Service(_Model):
    hook: Text
    title: Text | None = None
    description: Text
    id: Text
    prefetch: Annotated[dict[str, Text], Field(min_length=1)] | None = None
    usageRequirements: Text | None = None
    version: Text | None = None
    hookVersion: Text | None = None
    extension: Extension | None = None


class DiscoveryResponse(_Model):
    services: list[Service]


# --- cards ------------------------------------------------------------------------


class Source(_Model):
    label: Text
    url: Url | None = None
    icon: Url | None = None
    topic: Coding | None = None


class Link(_Model):
    label: Text
    url: Url
    type: Literal["absolute", "smart"]
    appContext: Text | None = None
    autolaunchable: bool | None = None

    @model_validator(mode="after")
    def _app_context_only_for_smart(self) -> Link:
        if self.appContext is not None and self.type != "smart":
            raise ValueError("appContext is only valid on smart links")
        return self


class Suggestion(_Model):
    label: Text
    uuid: Text | None = None
    isRecommended: bool | None = None
    actions: Annotated[list[Action], Field(min_length=1)] | None = None


class Card(_Model):
    uuid: Text | None = None
    summary: Annotated[str, StringConstraints(min_length=1, max_length=139)]
    detail: Text | None = None
    indicator: Literal["info", "warning", "critical"]
    source: Source
    suggestions: Annotated[list[Suggestion], Field(min_length=1)] | None = None
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: Annotated[list[DisplayedCoding], Field(min_length=1)] | None = None
    links: Annotated[list[Link], Field(min_length=1)] | None = None
    extension: Extension | None = None

    @model_validator(mode="after")
    def _selection_behavior_with_suggestions(self) -> Card:
        if self.suggestions and self.selectionBehavior is None:
            raise ValueError("selectionBehavior is required when a card has suggestions")
        return self


class CardResponse(_Model):
    cards: list[Card]
    systemActions: Annotated[list[Action], Field(min_length=1)] | None = None
    extension: Extension | None = None


# --- feedback ---------------------------------------------------------------------


class AcceptedSuggestion(_Model):
    id: Text


class OverrideReason(_Model):
    reason: Coding | None = None
    userComment: Text | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> OverrideReason:
        if self.reason is None and self.userComment is None:
            raise ValueError("overrideReason needs a reason or a userComment")
        return self


class Feedback(_Model):
    card: Text
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: Annotated[list[AcceptedSuggestion], Field(min_length=1)] | None = None
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: Timestamp

    @model_validator(mode="after")
    def _accepted_names_suggestions(self) -> Feedback:
        if self.outcome == "accepted" and self.acceptedSuggestions is None:
            raise ValueError("acceptedSuggestions is required for an accepted outcome")
        return self


class FeedbackRequest(_Model):
    feedback: Annotated[list[Feedback], Field(min_length=1)]


# --- entry points -----------------------------------------------------------------


def validate_discovery(body: Any) -> DiscoveryResponse:
    """Validate a discovery response body; raises :class:`ValidationError`."""
    return DiscoveryResponse.model_validate(body)


def validate_cards(body: Any) -> CardResponse:
    """Validate a hook response body (cards and systemActions); raises :class:`ValidationError`."""
    return CardResponse.model_validate(body)


def validate_feedback(body: Any) -> FeedbackRequest:
    """Validate a feedback request body; raises :class:`ValidationError`."""
    return FeedbackRequest.model_validate(body)


def first_problem(error: ValidationError) -> tuple[str, str]:
    """The first problem as ``(dotted field path, message)``, for a 400 that names the field.

    Only the location and pydantic's message are used, never the offending
    input, so the result is safe to log.
    """
    detail = error.errors(include_url=False, include_input=False)[0]
    field = ".".join(str(part) for part in detail["loc"])
    return field, detail["msg"]
