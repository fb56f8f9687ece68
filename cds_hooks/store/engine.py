"""Engine construction per backend, tuned so concurrent workers never trip over each other.

SQLite: WAL (readers never block the writer), a busy timeout, and ``BEGIN
IMMEDIATE`` for write transactions. A deferred transaction that reads and then
writes has to upgrade its lock, and SQLite answers a contended upgrade with
"database is locked" at once, without waiting for the busy timeout; taking the
write lock up front makes writers queue instead. Read-only work passes
``execution_options(read_only=True)`` and begins a plain deferred transaction.

PostgreSQL: connections in autocommit, so the statements of a hook call
(:mod:`cds_hooks.store.hook_statements`), each atomic by itself, cost one
round trip each, with no ``BEGIN``, ``COMMIT`` or isolation switch around
them; work of several statements asks for a ``READ COMMITTED`` transaction
(:data:`TRANSACTION_ISOLATION`), which the pool undoes when the connection
comes back. A short connect timeout, so a database that is down fails fast
(503) instead of hanging a worker, and a liveness check of each pooled
connection as it is checked out. SQLAlchemy's ``pool_pre_ping`` would send a
``SELECT 1`` for that: a network round trip on every checkout, about a tenth
of a worker's time under load. A server that restarts or drops the connection
closes its socket, and a closed socket polls readable with nothing for the
client to read; a healthy idle connection has nothing pending. So the check is
one ``poll()`` of the socket without waiting: readable (or closed) means
discard the connection and connect anew, which is what the pre-ping did, minus
the round trip. A connection that dies silently (no FIN) still fails its next
statement with a 503, as it would have failed after a successful pre-ping.
"""

from __future__ import annotations

import select
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url

SQLITE_BUSY_TIMEOUT_SECONDS = 30
CONNECT_TIMEOUT_SECONDS = 5
READ_ONLY = "read_only"
# Execution options for a transaction of several statements, per dialect name (see above).
TRANSACTION_ISOLATION: dict[str, dict[str, str]] = {"postgresql": {"isolation_level": "READ COMMITTED"}, "sqlite": {}}


def create_store_engine(database_url: str) -> Engine:
    """An engine for ``database_url`` (``sqlite:///...`` or ``postgresql+psycopg://...``)."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
        _configure_sqlite(engine)
        return engine
    if backend == "postgresql":
        engine = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS})
        event.listen(engine, "checkout", _refuse_closed_socket)
        return engine
    raise ValueError(f"unsupported database {backend!r}: use sqlite:///FILE or postgresql+psycopg://...")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself (below) instead of the sqlite3 module.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = "DEFERRED" if connection.get_execution_options().get(READ_ONLY) else "IMMEDIATE"
        connection.exec_driver_sql(f"BEGIN {mode}")


def _refuse_closed_socket(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Pool checkout hook: raising DisconnectionError makes the pool discard the connection and connect again."""
    if dbapi_connection.closed or socket_has_news(dbapi_connection.fileno()):
        raise exc.DisconnectionError("the database closed this pooled connection")


def socket_has_news(fd: int) -> bool:
    """Whether an idle client socket has something to read or was closed (poll without waiting)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))
