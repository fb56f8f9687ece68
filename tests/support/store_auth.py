"""Test helpers for storage, auth and feedback: token minting, database schemas, a real HTTP server."""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from sqlalchemy import create_engine, delete, func, select, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from cds_content import HookCall, ServiceDefinition
from cds_hooks.store import Store
from cds_hooks.store.schema import Base, Feedback, IssuedCard, SeenJti

TEST_ISSUER = "https://ehr.example.org"  # also the tenant of its tokens (they send no tenant claim)
SERVICE_ID = "bme-test-service"
OTHER_SERVICE_ID = "other-test-service"


class StaticServicesProvider:
    """A content provider with two services and no cards: feedback and auth only need the ids."""

    languages = ("en",)

    def services(self) -> list[ServiceDefinition]:
        return [
            ServiceDefinition(SERVICE_ID, "patient-view", "Test service", "Answers nothing; for tests."),
            ServiceDefinition(OTHER_SERVICE_ID, "patient-view", "Other test service", "Another id."),
        ]

    def evaluate(self, call: HookCall) -> list[dict[str, Any]]:
        return []


class TokenMinter:
    """Signs CDS Hooks client JWTs with an ES384 and an RS384 key of one test issuer."""

    def __init__(self) -> None:
        self.keys = {
            "ES384": ec.generate_private_key(ec.SECP384R1()),
            "RS384": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        }
        self.kids = {"ES384": "test-es384", "RS384": "test-rs384"}

    def public_jwk(self, alg: str, kid: str | None = None) -> dict[str, Any]:
        to_jwk = ECAlgorithm.to_jwk if alg == "ES384" else RSAAlgorithm.to_jwk
        jwk = to_jwk(self.keys[alg].public_key(), as_dict=True)
        return {**jwk, "kid": kid or self.kids[alg], "use": "sig", "alg": alg}

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk(alg) for alg in self.keys]}

    def write_issuers_file(self, path: Path, **issuer_fields: Any) -> Path:
        entry = {"iss": TEST_ISSUER, **issuer_fields}
        if "jwks_url" not in entry:
            entry.setdefault("jwks", self.jwks())
        path.write_text(json.dumps({"issuers": [entry]}))
        return path

    def mint(
        self,
        aud: str | list[str],
        *,
        alg: str = "ES384",
        kid: str | None = None,
        headers: dict[str, Any] | None = None,
        drop: tuple[str, ...] = (),
        key: Any = None,
        **claims: Any,
    ) -> str:
        now = int(time.time())
        payload = {"iss": TEST_ISSUER, "aud": aud, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4()), **claims}
        for name in drop:
            payload.pop(name)
        header = {"kid": kid or self.kids.get(alg, "test-es384"), "typ": "JWT", **(headers or {})}
        return jwt.encode(payload, key if key is not None else self.keys[alg], algorithm=alg, headers=header)


def feedback_body(card: str, outcome: str = "overridden", **fields: Any) -> dict[str, Any]:
    return {"feedback": [{"card": card, "outcome": outcome, "outcomeTimestamp": "2025-01-30T10:05:31Z", **fields}]}


def issue_card(store: Store, *, service_id: str = SERVICE_ID, patient_id: str = "patient-1", topic: str = "bme-education",
               suggestions: tuple[str, ...] = (), tenant: str = TEST_ISSUER) -> str:
    """Record one issued card (as a hook call would) and return its uuid."""
    card_uuid = str(uuid.uuid4())
    card: dict[str, Any] = {
        "uuid": card_uuid,
        "summary": "Test card",
        "indicator": "info",
        "source": {"label": "Test", "topic": {"system": "http://example.org/topics", "code": topic, "display": "Topic"}},
    }
    if suggestions:
        card["suggestions"] = [{"uuid": s, "label": "Do it"} for s in suggestions]
        card["selectionBehavior"] = "any"
    store.record_issued_cards(service_id=service_id, tenant=tenant, hook_instance=str(uuid.uuid4()), patient_id=patient_id,
                              cards=[card])
    return card_uuid


def row_counts(store: Store) -> dict[str, int]:
    with store.engine.connect() as connection:
        return {
            model.__tablename__: connection.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (IssuedCard, Feedback, SeenJti)
        }


def empty_tables(store: Store) -> None:
    with store.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(delete(table))


def create_postgres_schema(base_url: str) -> str:
    """Create a uniquely named schema; return a URL whose connections use it as search_path."""
    schema = f"bmecds_{secrets.token_hex(6)}"
    engine = create_engine(base_url, connect_args={"connect_timeout": 5})
    try:
        with engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        engine.dispose()
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def drop_postgres_schema(schema_url: str) -> None:
    url = make_url(schema_url)
    schema = url.query["options"].removeprefix("-csearch_path=")
    engine = create_engine(url.difference_update_query(["options"]))
    try:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve ``app`` with werkzeug's threaded server on a free port; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
