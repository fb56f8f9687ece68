"""Read an error answer: every non-2xx body must be a FHIR R4 OperationOutcome (checked with fhir.resources)."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.operationoutcome import OperationOutcome

from cds_hooks.errors import ERROR_CODES


def error_of(response: Any) -> dict[str, Any]:
    """The error of a Flask or ``requests`` response, after validating its body as an OperationOutcome.

    Returns ``message`` (details.text), ``code`` (the service's error code),
    ``issue`` (the FHIR issue type), ``field`` (the one expression, if one)
    and ``expression`` (all of them).
    """
    body = response.get_json() if hasattr(response, "get_json") else response.json()
    OperationOutcome.model_validate(body)
    (issue,) = body["issue"]
    assert issue["severity"] == "error" and issue["diagnostics"], issue
    (coding,) = issue["details"]["coding"]
    assert coding["system"] == ERROR_CODES
    expression = issue.get("expression", [])
    return {
        "message": issue["details"]["text"],
        "code": coding["code"],
        "issue": issue["code"],
        "field": expression[0] if len(expression) == 1 else None,
        "expression": expression,
    }
