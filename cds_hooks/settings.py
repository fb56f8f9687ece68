"""One settings object for the whole service, built from environment variables and CLI flags.

Every setting is documented in README.md ("Settings"). Defaults are the safe,
zero-setup ones: SQLite in the working directory, auth on, no outbound FHIR
calls until an allow-list is given.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ENV_PREFIX = "BME_CDS_"


def _as_bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _as_list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


@dataclass(frozen=True)
class Settings:
    """Service configuration. Field ``foo_bar`` is read from ``BME_CDS_FOO_BAR``."""

    # Storage
    database_url: str = "sqlite:///bme-cds.sqlite3"
    # Directory for generated local secrets (dev signing key, patient-hash key) when not configured.
    instance_dir: str = "instance"
    # Key for the keyed hash (HMAC-SHA256) of patient ids; generated into instance_dir if empty.
    patient_hash_key: str = ""

    # Public base URL as callers see it (behind a proxy); empty = taken from each request.
    public_url: str = ""

    # Auth
    auth_enabled: bool = True
    trusted_issuers: str = ""  # path to the trusted-issuers JSON file; empty = the local dev issuer only
    trust_sandbox: bool = False  # opt-in: trust the public CDS Hooks sandbox issuer (its key is public!)
    jwt_leeway_seconds: int = 60
    jwks_cache_seconds: int = 3600
    max_token_bytes: int = 8192

    # Requests
    max_body_bytes: int = 5 * 1024 * 1024
    feedback_max_entries: int = 100  # more entries in one feedback body: 413
    feedback_max_comment_chars: int = 2000  # a longer overrideReason.userComment: 400

    # Outbound FHIR (prefetch fallback)
    fhir_allowlist: tuple[str, ...] = ()
    fhir_connect_timeout: float = 2.0
    fhir_read_timeout: float = 5.0
    fhir_time_budget: float = 8.0
    fhir_max_response_bytes: int = 10 * 1024 * 1024
    fhir_max_pages: int = 10
    # Prefetch templates discovery advertises: "2.0", or "3.0" with today() date bounds (cds_hooks.prefetch_style).
    prefetch_style: str = "2.0"

    # Evaluation: the time one hook call's rules may take, and the text they may read (per value, per call)
    evaluation_time_budget: float = 0.4
    max_text_chars: int = 100_000
    max_call_text_chars: int = 500_000

    # Alert fatigue: quiet period for overridden info cards
    suppression_enabled: bool = True
    suppression_days: int = 30

    # Content packages to load (entry-point names in the bme_cds.content group); empty = all installed.
    content: tuple[str, ...] = ()

    # Operations
    log_format: str = "text"  # text | json
    demo: bool = False

    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from ``BME_CDS_*`` variables, then apply explicit overrides (CLI flags, tests)."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "extra":
                continue
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw is None:
                continue
            values[f.name] = _convert(f.type, raw)
        # Historic/explicit switch: BME_CDS_INSECURE_NO_AUTH=1 turns auth off.
        if _as_bool(environ.get(ENV_PREFIX + "INSECURE_NO_AUTH", "")):
            values["auth_enabled"] = False
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_overrides(self, **overrides: Any) -> Settings:
        return replace(self, **overrides)

    @property
    def instance_path(self) -> Path:
        return Path(self.instance_dir)


def _convert(type_name: Any, raw: str) -> Any:
    name = type_name if isinstance(type_name, str) else getattr(type_name, "__name__", str(type_name))
    if name == "bool":
        return _as_bool(raw)
    if name == "int":
        return int(raw)
    if name == "float":
        return float(raw)
    if name.startswith("tuple"):
        return _as_list(raw)
    return raw
