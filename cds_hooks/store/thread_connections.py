"""PostgreSQL: one connection per thread for a hook call's statements, kept from call to call.

A hook call runs two statements (the ``jti`` claim and the card record,
:mod:`.hook_statements`). Taking a pooled connection for each and handing it
back (SQLAlchemy's checkout with its liveness event, the reset and check-in,
a new cursor) is work repeated on every call. A gunicorn worker serves its
calls from a few threads that live as long as it does, so each thread keeps
one connection, as Django keeps one per thread
(``CONN_MAX_AGE``):

- made by the engine like any pooled connection (autocommit, connect
  timeout, the pool's liveness check), then detached from the pool, which
  no longer counts or closes it;
- checked before every use as the pool checks a connection it hands out: a
  socket that polls readable or closed means the server dropped it, and a
  new one is made (:func:`.socket_has_news`);
- closed and forgotten when a statement on it fails, so the next call starts
  on a fresh one;
- closed when its thread ends, and by :meth:`ThreadConnections.close`;
- never used nor closed by a process that inherited it through ``fork()``:
  the child makes its own, and the parent's session is left untouched (the
  inherited object is kept, so that not even its garbage collection touches
  the socket).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine

from cds_hooks.store.engine import socket_has_news

#: Connections inherited through fork(): kept referenced, never closed (see the module docstring).
_INHERITED: list[_Kept] = []


class _Kept:
    """One thread's connection and its cursor, owned by the process that made it."""

    __slots__ = ("connection", "cursor", "pid", "__weakref__")

    def __init__(self, connection: Any):
        self.connection = connection
        self.cursor = connection.cursor()
        self.pid = os.getpid()

    def usable(self) -> bool:
        return not self.connection.closed and not socket_has_news(self.connection.fileno())

    def close(self) -> None:
        if self.pid != os.getpid():
            return
        try:
            self.connection.close()
        except Exception:  # noqa: BLE001 - a connection that cannot even be closed is gone already
            pass

    def __del__(self) -> None:  # the thread that kept it has ended
        self.close()


class ThreadConnections:
    """The kept connections of one engine, one per thread that runs hook-call statements."""

    def __init__(self, engine: Engine):
        self._engine = engine
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: weakref.WeakSet[_Kept] = weakref.WeakSet()

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        """This thread's cursor; raises the driver's (or SQLAlchemy's) error when no connection can be made.

        Any exception inside the block closes the connection: whatever the
        statement left behind, the next one starts on a new connection.
        """
        kept = self._usable_or_none(getattr(self._local, "kept", None))
        if kept is None:
            kept = self._local.kept = self._connect()
        try:
            yield kept.cursor
        except BaseException:
            self._local.kept = None
            kept.close()
            raise

    def close(self) -> None:
        """Close every kept connection of this process (threads that still run make new ones on next use)."""
        with self._lock:
            kept = list(self._all)
        for item in kept:
            item.close()

    def _usable_or_none(self, kept: _Kept | None) -> _Kept | None:
        if kept is None:
            return None
        if kept.pid != os.getpid():
            _INHERITED.append(kept)
            return None
        if kept.usable():
            return kept
        kept.close()
        return None

    def _connect(self) -> _Kept:
        pooled = self._engine.raw_connection()
        connection = pooled.dbapi_connection
        pooled.detach()
        try:
            kept = _Kept(connection)
        except BaseException:
            connection.close()
            raise
        with self._lock:
            self._all.add(kept)
        return kept
