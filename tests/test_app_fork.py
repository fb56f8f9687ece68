"""An app built before ``fork()`` (gunicorn ``preload_app``) gives each worker its own database pool."""

from __future__ import annotations

from cds_hooks.app import after_fork, create_app
from cds_hooks.runtime import EXTENSION_KEY
from cds_hooks.settings import Settings
from support.store_auth import StaticServicesProvider


def test_after_fork_leaves_the_parents_connections_alone_and_starts_an_empty_pool(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}", instance_dir=str(tmp_path / "instance"))
    app = create_app(settings, providers=[StaticServicesProvider()])
    engine = app.extensions[EXTENSION_KEY].store.engine
    with engine.connect() as connection:
        parents = connection.connection.dbapi_connection
    assert engine.pool.checkedin() == 1

    after_fork(app)

    assert engine.pool.checkedin() == 0  # the child never reuses a connection the parent opened
    assert parents.execute("SELECT 1").fetchone() == (1,)  # and does not close it under the parent
    with engine.connect() as connection:
        assert connection.connection.dbapi_connection is not parents
