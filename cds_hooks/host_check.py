"""Only Host values that name this service are served, so a caller cannot choose the audience.

The JWT ``aud`` a call must carry, the handout links in cards and the
service's own ``/demo-fhir`` are all built from the URL the caller
addressed. A foreign Host header (DNS rebinding: an attacker's name
resolving to this machine; or a header set by hand) would let a caller pick
them. So every request's Host must name:

- with ``BME_CDS_PUBLIC_URL`` set, that URL's host and port;
- without it, the address and port the connection arrived at
  (:func:`cds_hooks.urls.listening_address`), or ``localhost`` with that
  port when the address is a loopback one.

Anything else is a 421 (Misdirected Request) with the JSON error body, in
demo mode too. Behind a reverse proxy or under a DNS name, set
``BME_CDS_PUBLIC_URL``.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from flask import Flask, request

from cds_hooks import errors, urls
from cds_hooks.runtime import current_runtime

_DEFAULT_PORTS = {"http": 80, "https": 443}


def register(app: Flask) -> None:
    """Refuse requests whose Host does not name this service, before any view runs."""
    app.before_request(check_host)


def check_host() -> None:
    """Raise a 421 unless the request's Host names this service (module docstring)."""
    public_url = current_runtime().settings.public_url
    if public_url:
        # Behind a proxy that ends TLS, a Host without a port means the public URL's default port.
        parts = urlsplit(public_url)
        named = _host_and_port(request.host, parts.scheme)
        allowed = {_host_and_port(parts.netloc, parts.scheme)}
    else:
        named = _host_and_port(request.host, request.scheme)
        host, port = urls.listening_address()
        allowed = {(host, port)}
        if _is_loopback(host):
            allowed.add(("localhost", port))
    if named not in allowed:
        raise errors.ApiError(421, "the Host header does not name this service", code="misdirected-request")


def _host_and_port(netloc: str, scheme: str) -> tuple[str, int] | None:
    """``(host, port)`` of a Host header or URL authority, the port defaulting by scheme; ``None`` if malformed."""
    try:
        parts = urlsplit(f"//{netloc}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname or parts.username is not None:
        return None
    return parts.hostname.lower(), port or _DEFAULT_PORTS.get(scheme.lower(), 80)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
