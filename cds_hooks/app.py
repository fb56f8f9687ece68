"""Flask app factory: wires settings, content providers, storage and auth into blueprints."""

from __future__ import annotations

from collections.abc import Sequence

from flask import Flask

from cds_content import ContentProvider
from cds_hooks import prefetch_style
from cds_hooks.content import ServiceRegistry, load_providers
from cds_hooks.runtime import EXTENSION_KEY, Runtime
from cds_hooks.settings import Settings


def create_app(
    settings: Settings | None = None,
    providers: Sequence[ContentProvider] | None = None,
) -> Flask:
    """Build the WSGI app.

    ``providers`` defaults to the content providers registered under the
    ``bme_cds.content`` entry point that ``settings.content`` names (all when
    empty); tests pass their own. All content is
    loaded, expanded and compiled here, once, so requests only do lookups.
    """
    from cds_hooks import (
        cors,
        discovery,
        errors,
        feedback,
        fhir_api,
        handouts,
        health,
        hooks,
        host_check,
        observability,
        openapi,
    )
    from cds_hooks.auth import Authenticator
    from cds_hooks.fhir_client import FhirClient
    from cds_hooks.store import Store

    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes

    registry = ServiceRegistry(
        load_providers(settings.content) if providers is None else providers,
        restyle=prefetch_style.restyler(settings.prefetch_style),
    )
    store = Store.from_settings(settings)
    authenticator = Authenticator.from_settings(settings, store)
    app.extensions[EXTENSION_KEY] = Runtime(settings, registry, store, authenticator)
    app.extensions[hooks.FHIR_CLIENT_KEY] = FhirClient(settings)

    errors.register(app)
    observability.register(app)
    host_check.register(app)
    cors.register(app)
    for blueprint in (discovery.bp, hooks.bp, feedback.bp, health.bp, fhir_api.bp, handouts.bp, openapi.bp):
        app.register_blueprint(blueprint)
    if settings.demo:  # synthetic patients at /demo-fhir and the /preview page; never in production
        from cds_hooks.demo import fhir as demo_fhir, preview

        app.register_blueprint(demo_fhir.bp)
        app.register_blueprint(preview.bp)
    return app


def after_fork(app: Flask) -> None:
    """Make an app built before ``fork()`` safe to use in the child (gunicorn ``preload_app``).

    ``create_app`` opens no connection and starts no thread: the outbound
    ``requests`` session, the JWKS caches and the patient-hash key are all
    filled on first use, so each worker fills its own. The database pool is
    the one thing that could hold sockets by the time a worker forks, and a
    pooled connection shared by two processes corrupts both sessions:
    ``dispose(close=False)`` gives this process a new, empty pool without
    closing the parent's connections under it.
    """
    runtime: Runtime = app.extensions[EXTENSION_KEY]
    runtime.store.engine.dispose(close=False)
