"""Alembic environment for the bme-cds store.

Normally run through ``Store.migrate()`` (``bme-cds db upgrade``), which hands
over an open connection in ``config.attributes["connection"]``. To write a
new revision during development, use the alembic CLI with a config naming
this directory and ``sqlalchemy.url`` (see docs/security-and-storage.md).
"""

from __future__ import annotations

from alembic import context

from cds_hooks.store.engine import TRANSACTION_ISOLATION, create_store_engine
from cds_hooks.store.schema import Base

config = context.config


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_store_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as connection:
            _run(connection.execution_options(**TRANSACTION_ISOLATION[connection.dialect.name]))
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run them against a database")
run_migrations_online()
