"""``GET /cds-services``: announce every registered service (CDS Hooks 2.0.1 "Discovery").

Discovery is public: a client needs it before it can be configured to call
anything, and it holds nothing about patients.

Each entry also carries the two fields CDS Hooks 3.0 adds (2.0.1 clients such
as the sandbox ignore them): ``version``, the CDS Hooks specification the
service implements (its wire format is 2.0.1's, which 3.0 clients accept),
and ``hookVersion``, the version of the published hook definition the service
follows, from :data:`HOOK_VERSIONS` (left out for a hook not listed there).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from cds_content import ServiceDefinition
from cds_hooks.runtime import current_runtime

bp = Blueprint("discovery", __name__)

SPEC_VERSION = "2.0.1"
# The hookVersion of each hook definition the services follow (CDS Hooks Library, STU1).
HOOK_VERSIONS = {"patient-view": "1.0", "order-select": "1.0", "order-sign": "1.0"}


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
    entry["version"] = SPEC_VERSION
    if service.hook in HOOK_VERSIONS:
        entry["hookVersion"] = HOOK_VERSIONS[service.hook]
    return entry


@bp.get("/cds-services")
def list_services() -> Response:
    """All services, ``{"services": []}`` when none are registered."""
    return jsonify({"services": [describe(s) for s in current_runtime().registry.definitions()]})
