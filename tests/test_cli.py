"""The ``bme-cds`` command line: dev tokens, database upgrade, and a real gunicorn server."""

from __future__ import annotations

import time
import uuid

import jwt
import requests
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect

from cds_hooks.cli import main
from cds_hooks.demo.dev_keys import DEV_ISSUER
from support.gunicorn import STARTUP_WAIT_SECONDS, running_server
from support.store_auth import SERVICE_ID, feedback_body, issue_card


def invoke(args: list[str], **env: str):
    return CliRunner().invoke(main, args, env={f"BME_CDS_{k.upper()}": v for k, v in env.items()})


def test_the_content_commands_are_part_of_bme_cds():
    listing = invoke(["--help"]).output
    assert "validate" in listing and "apply" in listing
    assert invoke(["validate", "--help"]).exit_code == 0


# -- dev-token ------------------------------------------------------------------------------


def test_dev_token_is_accepted_by_a_server_with_default_auth(make_feedback_app, store_settings, store):
    card = issue_card(store, tenant=DEV_ISSUER)  # the dev issuer is the tenant of its tokens
    url = f"http://localhost/cds-services/{SERVICE_ID}/feedback"
    result = invoke(["dev-token", "--aud", url], instance_dir=str(store_settings.instance_path))
    assert result.exit_code == 0, result.output
    token = result.output.strip()

    client = make_feedback_app(store_settings).test_client()
    response = client.post(url, json=feedback_body(card), headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_json()


def test_each_dev_token_is_fresh_and_short_lived(tmp_path):
    tokens = [invoke(["dev-token", "--aud", "http://h/x", "--ttl", "120"], instance_dir=str(tmp_path)).output.strip()
              for _ in range(2)]
    claims = [jwt.decode(t, options={"verify_signature": False}) for t in tokens]
    assert claims[0]["jti"] != claims[1]["jti"]
    assert claims[0]["exp"] - claims[0]["iat"] == 120
    assert claims[0]["aud"] == "http://h/x"


def test_dev_token_needs_an_absolute_url(tmp_path):
    result = invoke(["dev-token", "--aud", "cds-services/x"], instance_dir=str(tmp_path))
    assert result.exit_code == 2
    assert "absolute URL" in result.output


# -- db upgrade -----------------------------------------------------------------------------


def test_db_upgrade_creates_the_tables(fresh_database_url):
    result = invoke(["db", "upgrade"], database_url=fresh_database_url)
    assert result.exit_code == 0, result.output
    assert "newest schema" in result.output
    engine = create_engine(fresh_database_url)
    try:
        assert {"issued_cards", "feedback", "seen_jti"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_db_upgrade_on_an_unreachable_database_fails_without_showing_the_password():
    result = invoke(["db", "upgrade"], database_url="postgresql+psycopg://postgres:s3cret@127.0.0.1:1/test")
    assert result.exit_code == 1
    assert "cannot use the database postgresql+psycopg://postgres:***@127.0.0.1:1/test" in result.output
    assert "s3cret" not in result.output


# -- serve ----------------------------------------------------------------------------------


def hook_call(base_url: str, token: str | None = None) -> requests.Response:
    body = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/example", "patientId": "example"},
        "prefetch": {},
    }
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(f"{base_url}/cds-services/{SERVICE_ID}", json=body, headers=headers, timeout=10)


def test_serve_migrates_prints_a_banner_and_accepts_only_dev_tokens(fresh_database_url, tmp_path):
    with running_server(tmp_path, fresh_database_url) as (base_url, stdout, _):
        banner = stdout.read_text()
        assert f"bme-cds serving {base_url}/cds-services" in banner
        assert "database: " in banner and "auth:     on" in banner
        assert f"bme-cds dev-token --aud {base_url}/cds-services/<service-id>" in banner

        assert hook_call(base_url).status_code == 401
        result = invoke(["dev-token", "--aud", f"{base_url}/cds-services/{SERVICE_ID}"], instance_dir=str(tmp_path / "instance"))
        response = hook_call(base_url, result.output.strip())
        assert response.status_code == 200, response.text
        assert response.json() == {"cards": []}


def test_serve_without_auth_warns_once_at_start_up_and_every_worker_serves(tmp_path):
    """The app is built once, in the master, before the workers fork: the auth-off warning is logged
    there, once, before any worker boots (the banner says it too), not repeated by each worker."""
    database_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    with running_server(tmp_path, database_url, "--insecure-no-auth", "--workers", "2") as (base_url, stdout, stderr):
        assert "auth:     OFF" in stdout.read_text()
        deadline = time.monotonic() + STARTUP_WAIT_SECONDS
        while stderr.read_text().count("Booting worker") < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert all(hook_call(base_url).status_code == 200 for _ in range(6))
        log = stderr.read_text()
    assert "WARNING: authentication is OFF (--insecure-no-auth)" in log
    assert log.count("Booting worker") == 2
    assert log.count("AUTHENTICATION IS DISABLED") == 1
    assert log.index("AUTHENTICATION IS DISABLED") < log.index("Booting worker")
