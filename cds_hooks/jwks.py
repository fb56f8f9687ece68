"""JSON Web Key Sets: which keys may verify a token, and fetching them from a URL with a cache.

Only keys usable with the two algorithms CDS Hooks recommends are kept: EC
P-384 (ES384) and RSA of at least 2048 bits (RS384). Symmetric (``oct``) keys
are dropped, so a public key can never double as an HMAC secret.

A remote JWKS is fetched lazily, cached for ``cache_seconds``, and refetched
early when a token names an unknown ``kid`` (key rotation) - but at most once
per ``refresh_interval`` so a stream of bogus kids cannot hammer the issuer.
When the URL is down, the keys fetched last keep working.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from jwt import PyJWK
from jwt.exceptions import PyJWKError

log = logging.getLogger(__name__)

MAX_JWKS_BYTES = 256 * 1024
FETCH_TIMEOUT_SECONDS = (3.0, 5.0)  # connect, each read
MAX_FETCH_SECONDS = 10.0  # the whole download, so a trickling server cannot hold the key lock
UNKNOWN_KID_REFRESH_SECONDS = 30.0
MIN_RSA_BITS = 2048


@dataclass(frozen=True)
class VerificationKey:
    """A public key and the one algorithm it may verify."""

    algorithm: str
    key: Any


def parse_jwks(document: Any) -> dict[str, VerificationKey]:
    """``kid`` -> key for every usable signature key of a JWKS document; other keys are skipped."""
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise ValueError('a JWKS must be an object with a "keys" array')
    keys: dict[str, VerificationKey] = {}
    for jwk in document["keys"]:
        parsed = _parse_jwk(jwk)
        if parsed is not None:
            keys[jwk["kid"]] = parsed
    return keys


def _parse_jwk(jwk: Any) -> VerificationKey | None:
    if not isinstance(jwk, Mapping) or not isinstance(jwk.get("kid"), str) or jwk.get("use", "sig") != "sig":
        return None
    if jwk.get("kty") == "EC" and jwk.get("crv") == "P-384":
        algorithm = "ES384"
    elif jwk.get("kty") == "RSA":
        algorithm = "RS384"
    else:
        return None
    if jwk.get("alg", algorithm) != algorithm:
        return None
    try:
        key = PyJWK(dict(jwk), algorithm=algorithm).key
    except (PyJWKError, ValueError, TypeError):
        return None
    if algorithm == "RS384" and key.key_size < MIN_RSA_BITS:
        return None
    return VerificationKey(algorithm, key)


def check_jwks_url(url: str) -> None:
    """Refuse a JWKS URL that is not https (plain http only to this machine, for local testing)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
        return
    raise ValueError(f"JWKS URL {url!r} must use https (http is allowed only for localhost)")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class KeySource(Protocol):
    def find(self, kid: str) -> VerificationKey | None: ...


class StaticKeys:
    """Keys known in advance (inline JWKS, bundled profile, dev key), loaded on first use."""

    def __init__(self, load: Callable[[], Mapping[str, VerificationKey]]):
        self._load = load
        self._keys: Mapping[str, VerificationKey] | None = None
        self._lock = threading.Lock()

    def find(self, kid: str) -> VerificationKey | None:
        if self._keys is None:
            with self._lock:
                if self._keys is None:
                    self._keys = self._load()
        return self._keys.get(kid)


class RemoteJwks:
    """A JWKS fetched from a URL, cached, refreshed on expiry or unknown kid, rate-limited."""

    def __init__(
        self,
        url: str,
        *,
        cache_seconds: float,
        refresh_interval: float = UNKNOWN_KID_REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        check_jwks_url(url)
        self.url = url
        self._cache_seconds = cache_seconds
        self._refresh_interval = refresh_interval
        self._clock = clock
        self._keys: dict[str, VerificationKey] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = threading.Lock()

    def find(self, kid: str) -> VerificationKey | None:
        with self._lock:
            now = self._clock()
            if self._needs_refresh(kid, now) and self._may_attempt(now):
                self._refresh(now)
            return self._keys.get(kid)

    def _needs_refresh(self, kid: str, now: float) -> bool:
        expired = self._fetched_at is None or now - self._fetched_at >= self._cache_seconds
        return expired or kid not in self._keys

    def _may_attempt(self, now: float) -> bool:
        return self._attempted_at is None or now - self._attempted_at >= self._refresh_interval

    def _refresh(self, now: float) -> None:
        self._attempted_at = now
        try:
            keys = parse_jwks(json.loads(self._download()))
            if not keys:
                raise ValueError("no usable ES384/RS384 signing keys")
        except (requests.RequestException, ValueError) as exc:
            # Keep the keys fetched last: a JWKS outage must not lock out known keys.
            log.warning("could not refresh JWKS from %s: %s", self.url, exc)
            return
        self._keys = keys
        self._fetched_at = now

    def _download(self) -> bytes:
        deadline = time.monotonic() + MAX_FETCH_SECONDS
        with requests.get(self.url, timeout=FETCH_TIMEOUT_SECONDS, stream=True, allow_redirects=False) as response:
            if response.status_code != 200:
                raise ValueError(f"HTTP {response.status_code}")
            body = bytearray()
            # read1 returns after one network read; iter_content would wait for a full chunk, so a
            # server sending a byte now and then could hold the key lock far past the deadline.
            while chunk := response.raw.read1(16384, decode_content=True):
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    raise ValueError(f"larger than {MAX_JWKS_BYTES} bytes")
                if time.monotonic() > deadline:
                    raise ValueError(f"download took longer than {MAX_FETCH_SECONDS} seconds")
            return bytes(body)
