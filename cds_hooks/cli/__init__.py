"""The ``bme-cds`` command: serve the service, mint dev tokens, migrate the database.

Every command builds one :class:`Settings` from ``BME_CDS_*`` environment
variables plus its own flags, so the server, ``dev-token`` and ``db upgrade``
run in one directory agree on the database and the instance directory.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
from typing import Any

import click
from gunicorn.app.base import BaseApplication
from sqlalchemy.engine import make_url

from cds_hooks import observability
from cds_hooks.cli.experience import demo_data, feedback_report
from cds_hooks.demo.dev_keys import DEFAULT_TTL_SECONDS, DEV_ISSUER, load_or_create_dev_key
from cds_hooks.settings import Settings
from cds_hooks.store import Store, StoreUnavailable

WILDCARD_HOSTS = {"0.0.0.0", "::", ""}
INSECURE_WARNING = (
    "WARNING: authentication is OFF (--insecure-no-auth). Anyone who can reach this port can call the hooks "
    "and post feedback. Use it only for local play with synthetic data."
)
SANDBOX_WARNING = (
    "WARNING: trusting the public CDS Hooks sandbox issuer. Its private key is published, so anyone can mint "
    "tokens this service accepts. Use it only for testing with synthetic data."
)


class _MainGroup(click.Group):
    """The command group, with ``validate`` and ``apply`` imported only when used.

    Those two come from the content engine's CLI module (``cds_hooks.cli.content``),
    which loads the whole engine and its code tables: seconds that ``dev-token``
    should not pay. They are listed only when that module is installed.
    """

    LAZY_COMMANDS = {"validate": "validate_command", "apply": "apply_command"}
    LAZY_MODULE = "cds_hooks.cli.content"

    def list_commands(self, ctx: click.Context) -> list[str]:
        lazy = list(self.LAZY_COMMANDS) if importlib.util.find_spec(self.LAZY_MODULE) else []
        return sorted([*super().list_commands(ctx), *lazy])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.LAZY_COMMANDS and importlib.util.find_spec(self.LAZY_MODULE):
            return getattr(importlib.import_module(self.LAZY_MODULE), self.LAZY_COMMANDS[cmd_name])
        return super().get_command(ctx, cmd_name)


@click.group(cls=_MainGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bme-cds")
def main() -> None:
    """bme-cds: a CDS Hooks 2.0.1 service for bone marrow edema guidance."""


main.add_command(demo_data)
main.add_command(feedback_report)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1), help="gunicorn worker processes.")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(min=1), help="Threads per worker.")
@click.option("--insecure-no-auth", is_flag=True, help="Accept calls without a token (local play only).")
@click.option("--trust-sandbox", is_flag=True, help="Trust the public CDS Hooks sandbox issuer (its key is public).")
@click.option("--demo", is_flag=True, help="Demo mode: synthetic patients at /demo-fhir and the /preview page (never with real data).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default=None, help="Default: BME_CDS_LOG_FORMAT or text.")
def serve(
    host: str,
    port: int,
    workers: int,
    threads: int,
    insecure_no_auth: bool,
    trust_sandbox: bool,
    demo: bool,
    log_format: str | None,
) -> None:
    """Migrate the database, then serve with gunicorn until stopped."""
    settings = Settings.from_env(
        auth_enabled=False if insecure_no_auth else None,
        trust_sandbox=True if trust_sandbox else None,
        demo=True if demo else None,
        log_format=log_format,
    )
    observability.configure_logging(settings.log_format)
    _migrate(settings)
    base_url = settings.public_url.rstrip("/") or _local_base_url(host, port)
    _print_banner(settings, base_url, workers, threads)
    _GunicornServer(
        settings,
        {
            "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "timeout": 30,
            "graceful_timeout": 10,
            "proc_name": "bme-cds",
            # The app is built once, in the master, and the workers are forked from it (see _GunicornServer).
            "preload_app": True,
            # The app logs each request itself (without query strings); gunicorn's access log stays off.
            "accesslog": None,
            "errorlog": "-",
            # No control socket in $HOME: two servers on one machine must not fight over it.
            "control_socket_disable": True,
            # Room for an Authorization header well over BME_CDS_MAX_TOKEN_BYTES, so a too-large token gets the
            # service's JSON 401 rather than gunicorn's plain-text answer (its default field limit is 8190 bytes).
            "limit_request_field_size": 4 * settings.max_token_bytes,
        },
    ).run()


@main.command("dev-token")
@click.option("--aud", required=True, help="The exact URL the token will be sent to, e.g. http://127.0.0.1:8080/cds-services/bme-patient-view")
@click.option("--ttl", default=DEFAULT_TTL_SECONDS, show_default=True, type=click.IntRange(1, 3600), help="Lifetime in seconds.")
def dev_token(aud: str, ttl: int) -> None:
    """Print a fresh JWT from the local dev issuer (new jti each time; each token works once)."""
    if not aud.startswith(("http://", "https://")):
        raise click.BadParameter("must be the absolute URL being called", param_hint="--aud")
    settings = Settings.from_env()
    if settings.trusted_issuers:
        click.echo(
            f"note: BME_CDS_TRUSTED_ISSUERS is set, so a server with these settings does not trust {DEV_ISSUER}",
            err=True,
        )
    click.echo(load_or_create_dev_key(settings.instance_path).mint_token(aud, ttl_seconds=ttl))


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command()
def upgrade() -> None:
    """Create or migrate the tables to the newest schema."""
    settings = Settings.from_env()
    _migrate(settings)
    click.echo(f"database {_database_label(settings)} is at the newest schema")


def _migrate(settings: Settings) -> None:
    store = Store.from_settings(settings)
    try:
        store.migrate()
    except StoreUnavailable as exc:
        cause = exc.__cause__
        detail = str(getattr(cause, "orig", None) or cause).strip().splitlines()[0]
        raise click.ClickException(f"cannot use the database {_database_label(settings)}: {detail}") from None
    finally:
        store.close()


def _database_label(settings: Settings) -> str:
    return make_url(settings.database_url).render_as_string(hide_password=True)


def _local_base_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in WILDCARD_HOSTS else (f"[{host}]" if ":" in host else host)
    return f"http://{shown}:{port}"


def _print_banner(settings: Settings, base_url: str, workers: int, threads: int) -> None:
    click.echo(f"bme-cds serving {base_url}/cds-services")
    click.echo(f"  database: {_database_label(settings)}")
    click.echo(f"  workers:  {workers} gunicorn worker(s) x {threads} threads")
    if settings.demo:
        click.echo(f"  demo:     {base_url}/preview (cards in a browser), FHIR {base_url}/demo-fhir (synthetic patients)")
    if not settings.auth_enabled:
        click.echo("  auth:     OFF")
        click.secho(INSECURE_WARNING, fg="red", bold=True, err=True)
        return
    if settings.trusted_issuers:
        click.echo(f"  auth:     on (trusted issuers from {settings.trusted_issuers})")
    else:
        click.echo(f"  auth:     on (trusting the local dev issuer {DEV_ISSUER}, key in {settings.instance_path}/)")
        click.echo(f"  token:    bme-cds dev-token --aud {base_url}/cds-services/<service-id>")
    if settings.trust_sandbox:
        click.secho(SANDBOX_WARNING, fg="yellow", bold=True, err=True)


class _GunicornServer(BaseApplication):
    """gunicorn run in-process, with the app built once in the master and the workers forked from it.

    Loading the content (parse, validate, expand, compile) is most of the
    start-up; with ``preload_app`` it runs once instead of once per worker,
    so workers on a busy machine do not compete for the cores to repeat it,
    a crashed worker is replaced at once, and a content error stops the
    server before it listens. The master's warnings (auth off) are logged once.
    Changed content is loaded by a restart: a HUP forks new workers from the
    app already loaded.
    """

    def __init__(self, settings: Settings, options: dict[str, Any]):
        self.settings = settings
        self.options = {**options, "post_fork": self._post_fork}
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            if name in self.cfg.settings:  # e.g. the control socket exists only in gunicorn >= 25.1
                self.cfg.set(name, value)

    def load(self) -> Any:
        from cds_hooks.app import create_app

        observability.configure_logging(self.settings.log_format)
        # Loading allocates a few hundred thousand objects that live as long as the process: the cyclic
        # collector would scan them over and over while they are built (a sixth of the load time), and
        # afterwards it is kept off them (freeze), so workers neither scan them nor touch, and so copy,
        # the memory pages they share with the master.
        gc.disable()
        try:
            app = create_app(self.settings)
            gc.freeze()
        finally:
            gc.enable()
        return app

    def _post_fork(self, _arbiter: Any, _worker: Any) -> None:
        from cds_hooks.app import after_fork

        after_fork(self.wsgi())
