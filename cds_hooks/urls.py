"""The public URL of this service as callers see it (JWT ``aud``, absolute handout links), and where it listens."""

from __future__ import annotations

from flask import request

from cds_hooks.runtime import current_runtime

# The WSGI servers' environ key for the connection's socket: gunicorn's, werkzeug's development server's.
_SOCKET_KEYS = ("gunicorn.socket", "werkzeug.socket")


def base_url() -> str:
    """Public base URL without a trailing slash: ``BME_CDS_PUBLIC_URL`` or the request's host URL."""
    configured = current_runtime().settings.public_url
    return (configured or request.host_url).rstrip("/")


def public_url_for_request() -> str:
    """The URL the caller addressed, as a JWT ``aud`` must name it (no query string)."""
    return base_url() + request.path


def listening_address() -> tuple[str, int]:
    """The address and port this request's connection arrived at, from its socket.

    Unlike ``SERVER_NAME``, which a server may take from the Host header,
    the socket cannot be chosen by the caller. Without one (an in-process
    test client) the WSGI ``SERVER_NAME`` and ``SERVER_PORT``.
    """
    for key in _SOCKET_KEYS:
        sock = request.environ.get(key)
        address = sock.getsockname() if sock is not None else None
        if isinstance(address, tuple):  # not a Unix socket's path
            return str(address[0]).lower(), int(address[1])
    return str(request.environ.get("SERVER_NAME", "")).lower(), int(request.environ.get("SERVER_PORT") or 0)
