"""In-process benchmarks: content evaluation alone, and whole hook calls through Flask, against a JSON echo.

Four timings per workload, all in this process and interleaved call by call
(:func:`bench.stats.time_interleaved`), so a ratio compares calls made in the
same seconds of a machine whose speed drifts:

- ``engine``: the content provider's ``evaluate`` on the request's context and
  prefetch (the knowledge engine: data index, derived facts, Library
  variables, conditions, ``$apply``, cards);
- ``engine_unread``: the same with the BME content's memo of report-text
  readings (:func:`plugin.report_text.read`) emptied first: what the call
  costs when none of its report texts was seen before. Every other timing
  sends the same texts on each call, as an EHR does within a patient's visit;
- ``hook``: ``POST /cds-services/{id}`` through the Flask test client with
  authentication on - JSON parsing and validation, JWT verification, the
  ``jti`` replay claim and the issued-cards record in the database, the
  evaluation, spec checks of the cards, serialisation, access log, metrics.
  Each call carries its own token, minted before the timed loop;
- ``echo``: a bare Flask app that parses the same body and returns it, the
  cost of moving this JSON through Flask at all. ``hook / echo`` is the
  service's overhead in units of "just handling the request".

- ``hook_no_auth``: the same call with authentication off; the difference to
  ``hook`` is what token checking costs.
"""

from __future__ import annotations

import contextlib
import gc
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, request
from flask.testing import FlaskClient

from bench.stats import Summary, Timed, time_interleaved
from bench.tokens import BenchIssuer
from bench.workload import Workload
from cds_hooks import observability
from cds_hooks.app import create_app
from cds_content import ContentProvider, HookCall
from cds_hooks.content import load_providers
from cds_hooks.runtime import EXTENSION_KEY
from cds_hooks.settings import Settings
from plugin import report_text

BASE_URL = "http://localhost"


@dataclass(frozen=True)
class InProcessResult:
    """Timings of one workload; ``cards`` is how many cards the call returned."""

    name: str
    size: int
    cards: int
    engine: Summary
    engine_unread: Summary
    hook: Summary
    hook_no_auth: Summary
    echo: Summary

    @property
    def hook_to_echo(self) -> float:
        return self.hook.median / self.echo.median

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "size": self.size,
            "cards": self.cards,
            "engine_ms": self.engine.as_json(),
            "engine_unread_ms": self.engine_unread.as_json(),
            "hook_ms": self.hook.as_json(),
            "hook_no_auth_ms": self.hook_no_auth.as_json(),
            "echo_ms": self.echo.as_json(),
            "hook_to_echo_median": round(self.hook_to_echo, 2),
        }


class InProcessBench:
    """The service's apps (auth on and off, one database) and the echo app, built once."""

    def __init__(self, workdir: Path, database_url: str, providers: list[ContentProvider] | None = None):
        self.providers = load_providers() if providers is None else providers
        self.issuer = BenchIssuer()
        self._log = (workdir / "service.log").open("a", encoding="utf-8")
        settings = Settings(
            database_url=database_url,
            instance_dir=str(workdir / "instance"),
            trusted_issuers=str(self.issuer.write_trusted_issuers(workdir / "trusted-issuers.json")),
        )
        self.app = self._service_app(settings)
        self.app.extensions[EXTENSION_KEY].store.migrate()
        self.open_app = self._service_app(settings.with_overrides(auth_enabled=False))
        self.echo = echo_app().test_client()
        # As `bme-cds serve` does after loading: the loaded content stays out of every garbage collection.
        gc.freeze()

    def _service_app(self, settings: Settings) -> Flask:
        # The access log is part of a real call's cost: keep writing it, to a file instead of the terminal.
        with contextlib.redirect_stderr(self._log):
            return create_app(settings, providers=self.providers)

    def close(self) -> None:
        for app in (self.app, self.open_app):
            app.extensions[EXTENSION_KEY].store.close()
        # The service's log handler was bound to the file above; point it back at stderr before the file
        # closes, or every later log line in this process fails with "I/O operation on closed file".
        observability.configure_logging(self.app.extensions[EXTENSION_KEY].settings.log_format)
        self._log.close()

    def provider_for(self, service_id: str) -> ContentProvider:
        for provider in self.providers:
            if any(s.id == service_id for s in provider.services()):
                return provider
        raise KeyError(f"no content provider offers service {service_id!r}")

    def run(self, workload: Workload, iterations: int, warmup: int) -> InProcessResult:
        """Time the engine, the hook call (auth on, then off) and the echo for one workload."""
        operations, cards = self.operations(workload, warmup + iterations)
        samples = time_interleaved(operations, iterations, warmup)
        return InProcessResult(workload.name, workload.size, cards, **{name: Summary.of(s) for name, s in samples.items()})

    def operations(self, workload: Workload, calls: int) -> tuple[dict[str, Timed], int]:
        """The measured operations of one workload, each good for ``calls`` calls, and how many cards it returns.

        One checked call is made first (the workload must still return cards
        exactly when it says it does). The timings and the instruction counts
        (:mod:`bench.instructions`) measure these same operations.
        """
        raw = json.dumps(workload.body).encode("utf-8")
        path = f"/cds-services/{workload.service_id}"
        provider = self.provider_for(workload.service_id)

        def fresh_call(_: int) -> HookCall:
            """The request as the engine gets it on a real call: parsed anew from the body."""
            parsed = json.loads(raw)
            return HookCall(
                service_id=workload.service_id,
                hook=parsed["hook"],
                hook_instance=parsed["hookInstance"],
                context=parsed["context"],
                prefetch=parsed["prefetch"],
                base_url=BASE_URL,
                language=provider.languages[0],
            )

        def unread_call(i: int) -> HookCall:
            report_text.read.cache.clear()
            return fresh_call(i)

        tokens = self.issuer.mint(BASE_URL + path, calls + 1)
        client = self.app.test_client()
        cards = _checked_call(client, path, raw, tokens.pop(), workload.fires)
        open_client = self.open_app.test_client()
        operations = {
            "engine": Timed(provider.evaluate, prepare=fresh_call),
            "engine_unread": Timed(provider.evaluate, prepare=unread_call),
            "hook": Timed(lambda i: _post(client, path, raw, tokens[i])),
            "hook_no_auth": Timed(lambda _: _post(open_client, path, raw, None)),
            "echo": Timed(lambda _: _post(self.echo, "/echo", raw, None)),
        }
        return operations, cards


@contextlib.contextmanager
def in_process_bench(workdir: Path, database_url: str) -> Iterator[InProcessBench]:
    bench = InProcessBench(workdir, database_url)
    try:
        yield bench
    finally:
        bench.close()


def echo_app() -> Flask:
    """The baseline: parse the JSON body, answer it back (and ``/healthz``, so it can be served like the service)."""
    app = Flask("echo")

    @app.post("/echo")
    def echo() -> Any:
        return jsonify(request.get_json())

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify(status="ok")

    return app


def _post(client: FlaskClient, path: str, raw: bytes, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(path, data=raw, headers=headers, content_type="application/json")


def _checked_call(client: FlaskClient, path: str, raw: bytes, token: str, fires: bool) -> int:
    """One call that must succeed, with cards exactly when the workload says so (the timings measure that path)."""
    response = _post(client, path, raw, token)
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code}: {response.get_data(as_text=True)[:300]}")
    cards = response.get_json()["cards"]
    if bool(cards) != fires:
        raise RuntimeError(f"{path} returned {len(cards)} card(s): the workload no longer measures what it says")
    return len(cards)
