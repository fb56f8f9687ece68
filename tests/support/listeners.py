"""A TCP listener that must receive nothing: proof that no request left for a forbidden target.

An SSRF test points ``fhirServer`` (or a redirect, a ``next`` link, a ``jku``)
at an address where a :class:`SilentListener` waits. If the service ever
connected, the listener saw it, whatever the service's answer was. The
listener accepts and closes at once, so a wrongly made request fails fast
instead of hanging the test.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class SilentListener:
    """Counts TCP connections to ``host:port``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self.host = host
        self.port = self._sock.getsockname()[1]
        self.connections = 0
        self._running = True
        self._thread = threading.Thread(target=self._accept, name="silent-listener", daemon=True)
        self._thread.start()

    @property
    def authority(self) -> str:
        """``host:port`` as it appears in a URL."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def _accept(self) -> None:
        while self._running:
            try:
                connection, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self._running = False
        self._thread.join()
        self._sock.close()


@contextmanager
def silent_listener(host: str = "127.0.0.1") -> Iterator[SilentListener]:
    listener = SilentListener(host)
    try:
        yield listener
    finally:
        listener.close()


def ipv6_loopback_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True
