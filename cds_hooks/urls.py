"""The public URL of this service as callers see it (JWT ``aud``, absolute handout links)."""

from __future__ import annotations

from flask import request

from cds_hooks.runtime import current_runtime


def base_url() -> str:
    """Public base URL without a trailing slash: ``BME_CDS_PUBLIC_URL`` or the request's host URL."""
    configured = current_runtime().settings.public_url
    return (configured or request.host_url).rstrip("/")


def public_url_for_request() -> str:
    """The URL the caller addressed, as a JWT ``aud`` must name it (no query string)."""
    return base_url() + request.path
