"""Inbound CDS Hooks client JWTs: who may call the service, checked on every hook and feedback call.

A token passes only if every check of CDS Hooks 2.0.1 section "Trusting CDS
Clients" holds: ES384/RS384 signature by a key of a trusted issuer (``jku``
only when allow-listed for that issuer), ``aud`` exactly the URL called,
``exp``/``iat`` within ``jwt_leeway_seconds``, and a ``jti`` never seen before
by any instance sharing the database. Any failure is a 401 with a short
reason; a replay check that cannot reach the database is a 503 (fail closed).
Tokens, keys and claims are never logged.

The ``jti`` is claimed as soon as the token is verified, in one statement,
before the request body is read or parsed: a replayed token costs a signature
check and one insert, whatever its body holds.

A verified token names its caller's *tenant*: the issuer, plus the token's
``tenant`` claim when one is sent (``<iss>#<tenant>``). Everything stored about
patients and cards is kept per tenant. With auth off every caller is the one
tenant :data:`NO_AUTH_TENANT`.

"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
from flask import request

from cds_hooks import errors
from cds_hooks.demo.dev_keys import DEV_ALGORITHM, DEV_ISSUER, load_or_create_dev_key
from cds_hooks.jwks import KeySource, RemoteJwks, StaticKeys, VerificationKey, check_jwks_url, parse_jwks
from cds_hooks.runtime import current_runtime
from cds_hooks.settings import Settings
from cds_hooks.store import JtiClaim, Store, StoreUnavailable
from cds_hooks.strict_json import InvalidJson, parse_json
from cds_hooks.urls import public_url_for_request

log = logging.getLogger(__name__)

ALLOWED_ALGORITHMS = frozenset({"ES384", "RS384"})
# CDS clients mint one short-lived token per call (the sandbox: 5 minutes). A longer
# lifetime buys an attacker more time with a stolen token and keeps its jti row longer.
MAX_TOKEN_LIFETIME_SECONDS = 3600
REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "jti"]
TIME_CLAIMS = ("exp", "iat", "nbf")
# The tenant of every call while auth is switched off (local play): one fixed, documented name.
NO_AUTH_TENANT = "local-no-auth"
TENANT_CLAIM = "tenant"
MAX_TENANT_CHARS = 255
SANDBOX_PROFILE = Path(__file__).parent / "profiles" / "sandbox.json"
QUERY_TOKEN_PARAMETERS = ("access_token", "token")
_ISSUER_FIELDS = {"iss", "jwks", "jwks_url", "jku_allowlist", "note"}


class AuthConfigError(ValueError):
    """The trusted-issuers configuration is unusable; the service refuses to start."""


@dataclass
class TrustedIssuer:
    """An issuer whose tokens are accepted, with where its keys come from."""

    iss: str
    keys: KeySource
    jku_sources: Mapping[str, RemoteJwks] = field(default_factory=dict)

    def find_key(self, kid: str, jku: str | None) -> VerificationKey | None:
        key = self.keys.find(kid)
        if key is None and jku is not None:
            key = self.jku_sources[jku].find(kid)
        return key


class Authenticator:
    """Verifies bearer JWTs against the trusted issuers and records their ``jti`` in the store."""

    def __init__(
        self,
        issuers: Mapping[str, TrustedIssuer],
        store: Store,
        *,
        enabled: bool = True,
        leeway_seconds: int = 60,
        max_token_bytes: int = 8192,
    ):
        self.enabled = enabled
        self._issuers = dict(issuers)
        self._store = store
        self._leeway = leeway_seconds
        self._max_token_bytes = max_token_bytes

    @classmethod
    def from_settings(cls, settings: Settings, store: Store) -> Authenticator:
        """Load the trusted issuers named by the settings; raises :class:`AuthConfigError` if unusable."""
        if not settings.auth_enabled:
            log.warning(
                "AUTHENTICATION IS DISABLED (--insecure-no-auth): anyone who can reach this service "
                "can call its hooks and post feedback. Use only for local play with synthetic data."
            )
            return cls({}, store, enabled=False)
        issuers = (
            load_trusted_issuers(Path(settings.trusted_issuers), settings.jwks_cache_seconds)
            if settings.trusted_issuers
            else [dev_issuer(settings.instance_path)]
        )
        if settings.trust_sandbox:
            log.warning(
                "TRUSTING THE PUBLIC CDS HOOKS SANDBOX issuer https://sandbox.cds-hooks.org: its private "
                "signing key is published, so anyone can mint tokens this service accepts. "
                "Use only for testing with synthetic data, never next to real patient data."
            )
            issuers.append(_issuer_from_entry(_read_json(SANDBOX_PROFILE), settings.jwks_cache_seconds, SANDBOX_PROFILE))
        by_iss: dict[str, TrustedIssuer] = {}
        for issuer in issuers:
            if issuer.iss in by_iss:
                raise AuthConfigError(f"issuer {issuer.iss!r} is trusted twice; list it once")
            by_iss[issuer.iss] = issuer
        return cls(
            by_iss,
            store,
            leeway_seconds=settings.jwt_leeway_seconds,
            max_token_bytes=settings.max_token_bytes,
        )

    def verify(self, authorization_header: str | None, audience: str) -> str:
        """Check the bearer token and record its ``jti``; the caller's tenant.

        Raises a 401 (bad token, replay) or a 503 (the replay check cannot reach the database).
        """
        token = self._bearer_token(authorization_header)
        _refuse_ambiguous_json(token)
        # One unverified parse gives both header and claims. Only when it fails is the header read on its own,
        # so a bad header is still refused for what is wrong with it before a bad payload is called malformed.
        try:
            unverified: dict[str, Any] | None = jwt.decode_complete(token, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            unverified = None
        header = _unverified(jwt.get_unverified_header, token) if unverified is None else unverified["header"]
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in ALLOWED_ALGORITHMS:
            raise _refuse("algorithm not allowed (use ES384 or RS384)")
        typ = header.get("typ", "JWT")
        if not isinstance(typ, str) or typ.upper() != "JWT":
            raise _refuse("token type must be JWT")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _refuse("token header has no kid")

        unverified_claims = unverified["payload"] if unverified is not None else None
        if not isinstance(unverified_claims, dict):
            raise _refuse("malformed token")
        iss = unverified_claims.get("iss")
        issuer = self._issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise _refuse("untrusted issuer")
        jku = header.get("jku")
        if jku is not None and (not isinstance(jku, str) or jku not in issuer.jku_sources):
            raise _refuse("jku not allowed for this issuer")
        key = issuer.find_key(kid, jku)
        if key is None:
            raise _refuse("unknown signing key")
        if key.algorithm != algorithm:
            raise _refuse("algorithm does not match the signing key")

        claims = self._decode(token, key, issuer.iss, audience)
        for name in TIME_CLAIMS:
            # PyJWT takes int() of them, so "1700000000" would pass as a time: only JSON numbers are.
            if name in claims and (isinstance(claims[name], bool) or not isinstance(claims[name], int | float)):
                raise _refuse(f"{name} must be a number")
        jti = claims["jti"]
        if not isinstance(jti, str) or not jti:
            raise _refuse("jti must be a non-empty string")
        if int(claims["exp"]) - int(claims["iat"]) > MAX_TOKEN_LIFETIME_SECONDS:
            raise _refuse(f"token lifetime (exp - iat) exceeds {MAX_TOKEN_LIFETIME_SECONDS} seconds")
        tenant = _tenant(issuer.iss, claims)
        # Remember the jti for as long as the token could still be accepted (exp + leeway).
        self._claim(JtiClaim(issuer.iss, jti, datetime.fromtimestamp(int(claims["exp"]) + self._leeway, UTC)))
        return tenant

    def _bearer_token(self, authorization_header: str | None) -> str:
        if not authorization_header:
            raise _refuse("missing bearer token")
        scheme, _, token = authorization_header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _refuse("Authorization must be 'Bearer <JWT>'")
        if len(token.encode("utf-8")) > self._max_token_bytes:
            raise _refuse("token too large")
        return token

    def _decode(self, token: str, key: VerificationKey, iss: str, audience: str) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key.key,
                algorithms=[key.algorithm],
                audience=audience,
                issuer=iss,
                leeway=self._leeway,
                options={"require": REQUIRED_CLAIMS, "strict_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise _refuse("token expired") from None
        except jwt.ImmatureSignatureError:
            raise _refuse("token issued in the future") from None
        except jwt.InvalidAudienceError:
            raise _refuse("aud is not the URL called") from None
        except jwt.MissingRequiredClaimError as exc:
            raise _refuse(f"token has no {exc.claim} claim") from None
        except jwt.InvalidSignatureError:
            raise _refuse("invalid signature") from None
        except jwt.InvalidTokenError:
            raise _refuse("invalid token") from None

    def _claim(self, claim: JtiClaim) -> None:
        """Record a verified token's ``jti``: 401 if it was used before, 503 if the database cannot be asked."""
        try:
            fresh = self._store.claim_jti(claim)
        except StoreUnavailable:
            raise errors.unavailable("cannot check the token for replay: the database is unavailable") from None
        if not fresh:
            raise _refuse("token already used (jti replay)")


def authenticate() -> str:
    """Check the caller's bearer JWT for the URL called and claim its ``jti``; the caller's tenant.

    With auth off every caller is :data:`NO_AUTH_TENANT`.
    """
    authenticator = current_runtime().authenticator
    if not authenticator.enabled:
        return NO_AUTH_TENANT
    if any(name.lower() in QUERY_TOKEN_PARAMETERS for name in request.args):
        raise _refuse("tokens in the URL are refused; send 'Authorization: Bearer <JWT>'")
    return authenticator.verify(request.headers.get("Authorization"), public_url_for_request())


def _tenant(iss: str, claims: Mapping[str, Any]) -> str:
    """``iss``, or ``iss#tenant`` when the token names a tenant (a non-empty string)."""
    if TENANT_CLAIM not in claims:
        return iss
    tenant = claims[TENANT_CLAIM]
    if not isinstance(tenant, str) or not tenant.strip():
        raise _refuse("tenant must be a non-empty string")
    named = f"{iss}#{tenant}"
    if len(named) > MAX_TENANT_CHARS:
        raise _refuse(f"issuer and tenant together must be at most {MAX_TENANT_CHARS} characters")
    return named


# -- issuer configuration -----------------------------------------------------------


def dev_issuer(instance_dir: Path) -> TrustedIssuer:
    """The local dev issuer; its key pair is created in ``instance_dir`` on the first verification."""

    def load() -> dict[str, VerificationKey]:
        dev_key = load_or_create_dev_key(instance_dir)
        return {dev_key.kid: VerificationKey(DEV_ALGORITHM, dev_key.public_key)}

    return TrustedIssuer(DEV_ISSUER, StaticKeys(load))


def load_trusted_issuers(path: Path, cache_seconds: float) -> list[TrustedIssuer]:
    """Parse the trusted-issuers file: ``{"issuers": [{"iss", "jwks" | "jwks_url", "jku_allowlist"?}]}``."""
    document = _read_json(path)
    entries = document.get("issuers") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise AuthConfigError(f'{path}: expected {{"issuers": [...]}} with at least one issuer')
    return [_issuer_from_entry(entry, cache_seconds, path, f"issuers[{i}]") for i, entry in enumerate(entries)]


def _issuer_from_entry(entry: Any, cache_seconds: float, path: Path, where: str = "") -> TrustedIssuer:
    label = f"{path}{':' + where if where else ''}"
    if not isinstance(entry, dict):
        raise AuthConfigError(f"{label}: an issuer must be an object")
    unknown = set(entry) - _ISSUER_FIELDS
    if unknown:
        raise AuthConfigError(f"{label}: unknown field(s) {', '.join(sorted(unknown))}")
    iss = entry.get("iss")
    if not isinstance(iss, str) or not iss:
        raise AuthConfigError(f"{label}: iss must be a non-empty string")
    if ("jwks" in entry) == ("jwks_url" in entry):
        raise AuthConfigError(f"{label}: give exactly one of jwks or jwks_url")
    allowlist = entry.get("jku_allowlist", [])
    if not isinstance(allowlist, list) or not all(isinstance(url, str) for url in allowlist):
        raise AuthConfigError(f"{label}: jku_allowlist must be an array of URLs")
    try:
        if "jwks" in entry:
            inline = parse_jwks(entry["jwks"])
            if not inline:
                raise ValueError("jwks has no usable ES384/RS384 signing key")
            keys: KeySource = StaticKeys(lambda: inline)
        else:
            keys = RemoteJwks(entry["jwks_url"], cache_seconds=cache_seconds)
        for url in allowlist:
            check_jwks_url(url)
    except ValueError as exc:
        raise AuthConfigError(f"{label}: {exc}") from None
    jku_sources = {
        url: keys if isinstance(keys, RemoteJwks) and keys.url == url else RemoteJwks(url, cache_seconds=cache_seconds)
        for url in allowlist
    }
    return TrustedIssuer(iss, keys, jku_sources)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AuthConfigError(f"cannot read trusted issuers file {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise AuthConfigError(f"{path} is not valid JSON: {exc}") from None


def _refuse_ambiguous_json(token: str) -> None:
    """Refuse a token whose header or claims repeat a name (which value counts?) or are not strict JSON."""
    for segment in token.split(".")[:2]:
        try:
            parse_json(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        except (InvalidJson, ValueError):
            raise _refuse("malformed token (duplicate names or invalid JSON)") from None


def _unverified(read: Callable[[str], dict[str, Any]], token: str) -> dict[str, Any]:
    try:
        value = read(token)
    except jwt.InvalidTokenError:
        raise _refuse("malformed token") from None
    if not isinstance(value, dict):
        raise _refuse("malformed token")
    return value


def _refuse(reason: str) -> errors.ApiError:
    log.info("bearer token refused: %s", reason)
    return errors.unauthorized(reason)
