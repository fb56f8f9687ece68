"""Keyed hashes of patient ids, so the database can link a patient's cards without holding the id.

The hash covers the tenant with the id: two EHRs that use the same patient
id are two patients. A plain SHA-256 of a patient id can be reversed by hashing every plausible id;
an HMAC with a secret key cannot. The key comes from
``BME_CDS_PATIENT_HASH_KEY`` or, when that is empty, from
``<instance_dir>/patient-hash.key`` (generated once, mode 0600). Every
instance that shares a database must use the same key; see
docs/security-and-storage.md for rotation.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from pathlib import Path

from cds_hooks.instance_secrets import read_or_create_secret

KEY_FILE_NAME = "patient-hash.key"


class PatientHasher:
    """HMAC-SHA256 of patient ids; the generated key is read (or created) on first use."""

    def __init__(self, configured_key: str, instance_dir: Path):
        self._configured_key = configured_key
        self._key_path = instance_dir / KEY_FILE_NAME
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def hash(self, tenant: str, patient_id: str) -> str:
        """64 hex characters, stable for one key: the same id from two tenants gives two hashes."""
        message = f"{tenant}\x00{patient_id}".encode()
        return hmac.new(self._get_key(), message, hashlib.sha256).hexdigest()

    def _get_key(self) -> bytes:
        if self._key is None:
            with self._lock:
                if self._key is None:
                    self._key = self._load_key()
        return self._key

    def _load_key(self) -> bytes:
        if self._configured_key:
            return self._configured_key.encode("utf-8")
        generated = read_or_create_secret(self._key_path, lambda: secrets.token_hex(32).encode("ascii"))
        key = generated.strip()
        if not key:
            raise RuntimeError(f"{self._key_path} is empty; delete it to generate a new patient-hash key")
        return key
