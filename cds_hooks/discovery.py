"""``GET /cds-services``: announce every registered service (CDS Hooks 2.0.1 "Discovery").

Discovery is public: a client needs it before it can be configured to call
anything, and it holds nothing about patients.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from cds_content import ServiceDefinition
from cds_hooks.runtime import current_runtime

bp = Blueprint("discovery", __name__)


def describe(service: ServiceDefinition) -> dict[str, Any]:
    """A service's discovery entry; optional fields are omitted when empty, as the spec requires."""
    entry: dict[str, Any] = {"hook": service.hook}
    if service.title:
        entry["title"] = service.title
    entry["description"] = service.description
    entry["id"] = service.id
    if service.prefetch:
        entry["prefetch"] = dict(service.prefetch)
    if service.usage_requirements:
        entry["usageRequirements"] = service.usage_requirements
    return entry


@bp.get("/cds-services")
def list_services() -> Response:
    """All services, ``{"services": []}`` when none are registered."""
    return jsonify({"services": [describe(s) for s in current_runtime().registry.definitions()]})
