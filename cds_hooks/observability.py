"""Request ids, one access log line per request, and Prometheus metrics.

Every response carries ``X-Request-ID`` (the caller's, if it is a sane token,
so a request can be followed across an EHR's logs and ours; otherwise a new
one). Each request logs exactly one line - request id, method, route, service
id, status, duration and card count - and nothing from the URL path or body,
so no patient id, token or name can reach the log. ``settings.log_format``
chooses ``text`` (key=value) or ``json`` (one object per line).

Metrics live in a registry per app (tests build many apps in one process):
requests and latency by route, service id and status, and issued cards by
service id and indicator.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Flask, Response, current_app, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram

from cds_hooks.runtime import EXTENSION_KEY, current_runtime

log = logging.getLogger("cds_hooks.access")

METRICS_KEY = "bme_cds.metrics"
REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_HANDLER_MARK = "_bme_cds_handler"
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The Prometheus collectors of one app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ("route", "service_id", "status")
        self.requests = Counter(
            "bme_cds_http_requests", "HTTP requests answered.", labels, registry=self.registry
        )
        self.latency = Histogram(
            "bme_cds_http_request_duration_seconds",
            "Time to answer an HTTP request.",
            labels,
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.cards = Counter(
            "bme_cds_cards_issued", "Cards returned by hook calls.", ("service_id", "indicator"), registry=self.registry
        )


def metrics() -> Metrics:
    """The metrics of the app handling the current request."""
    return current_app.extensions[METRICS_KEY]


def record_cards(service_id: str, cards: Iterable[Mapping[str, Any]]) -> None:
    """Note the cards a hook call returned, for the access log line and the cards metric."""
    count = 0
    for card in cards:
        metrics().cards.labels(service_id, card.get("indicator", "unknown")).inc()
        count += 1
    g.card_count = count


def register(app: Flask) -> None:
    """Attach request ids, access logging and metrics to ``app``."""
    app.extensions[METRICS_KEY] = Metrics()
    configure_logging(app.extensions[EXTENSION_KEY].settings.log_format)

    @app.before_request
    def _start() -> None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if _SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        started = g.get("request_started")
        if started is None:  # a failure before our before_request ran
            return response
        duration = time.perf_counter() - started
        route = request.url_rule.rule if request.url_rule else "unmatched"
        service_id = _known_service_id()
        status = str(response.status_code)
        metrics().requests.labels(route, service_id, status).inc()
        metrics().latency.labels(route, service_id, status).observe(duration)
        response.headers[REQUEST_ID_HEADER] = g.request_id
        fields: dict[str, Any] = {
            "request_id": g.request_id,
            "method": request.method,
            "route": route,
            "status": response.status_code,
            "duration_ms": round(duration * 1000, 1),
        }
        if service_id:
            fields["service_id"] = service_id
        if "card_count" in g:
            fields["cards"] = g.card_count
        log.info("request %s", _as_text(fields), extra={"fields": fields})
        return response


def configure_logging(log_format: str) -> None:
    """Send ``cds_hooks`` INFO logs to stderr in ``text`` or ``json``; idempotent.

    One handler, marked as ours, sits on the root logger (so other handlers,
    e.g. pytest's or a process manager's, still see every record) and is
    replaced when the format changes.
    """
    if log_format not in ("text", "json"):
        raise ValueError(f"log_format must be 'text' or 'json', not {log_format!r}")
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    setattr(handler, _HANDLER_MARK, True)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(_TEXT_FORMAT))
    root.addHandler(handler)
    logging.getLogger("cds_hooks").setLevel(logging.INFO)


_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per line; an access line's fields become top-level keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _as_text(fields: Mapping[str, Any]) -> str:
    return " ".join(f"{key}={value}" for key, value in fields.items())


def _known_service_id() -> str:
    """The registered service id in the URL, or "" (an unknown id would blow up label cardinality)."""
    service_id = (request.view_args or {}).get("service_id")
    if isinstance(service_id, str) and service_id in current_runtime().registry:
        return service_id
    return ""
