"""Operational endpoints: ``GET /healthz`` for load balancers, ``GET /metrics`` for Prometheus."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from cds_hooks import errors
from cds_hooks.observability import metrics
from cds_hooks.runtime import current_runtime

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """200 while the database answers with the schema this version needs; 503 otherwise.

    The database is the one dependency a call cannot do without: with auth on,
    every hook call checks its token's ``jti`` there. A 503 makes a balancer
    stop sending hook calls here; its message says what is wrong.
    """
    problem = current_runtime().store.health_problem()
    if problem is not None:
        raise errors.unavailable(problem)
    return jsonify({"status": "ok"})


@bp.get("/metrics")
def prometheus_metrics() -> Response:
    """This app's metrics in the Prometheus text format."""
    return Response(generate_latest(metrics().registry), content_type=CONTENT_TYPE_LATEST)
