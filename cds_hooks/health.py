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
    """200 while the database answers; 503 otherwise, so a balancer stops sending hook calls here.

    The database is the one dependency a call cannot do without: with auth on,
    every hook call checks its token's ``jti`` there.
    """
    if not current_runtime().store.ping():
        raise errors.unavailable("the database is unreachable")
    return jsonify({"status": "ok"})


@bp.get("/metrics")
def prometheus_metrics() -> Response:
    """This app's metrics in the Prometheus text format."""
    return Response(generate_latest(metrics().registry), content_type=CONTENT_TYPE_LATEST)
