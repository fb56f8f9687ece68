"""The local development issuer: an ES384 key pair in the instance directory, and tokens signed by it.

When no trusted-issuers file is configured the service trusts exactly this
issuer, so ``bme-cds serve`` works out of the box with auth on and
``bme-cds dev-token --aud URL`` mints a token it accepts. The private key is
generated on first use into ``<instance_dir>/dev-signing-key.pem`` (mode 0600)
and never leaves the machine; every worker and the CLI share it through that file.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from cds_hooks.instance_secrets import read_or_create_secret

DEV_ISSUER = "bme-cds-dev"
DEV_ALGORITHM = "ES384"
KEY_FILE_NAME = "dev-signing-key.pem"
DEFAULT_TTL_SECONDS = 300


@dataclass(frozen=True)
class DevKey:
    """The dev issuer's private key; ``kid`` is its RFC 7638 thumbprint, so it is stable per key."""

    private_key: ec.EllipticCurvePrivateKey
    kid: str

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self.private_key.public_key()

    def mint_token(self, audience: str, ttl_seconds: int = DEFAULT_TTL_SECONDS, now: float | None = None) -> str:
        """A CDS Hooks client JWT for ``audience`` (the exact URL to be called), with a fresh ``jti``."""
        issued_at = int(time.time() if now is None else now)
        claims = {
            "iss": DEV_ISSUER,
            "aud": audience,
            "iat": issued_at,
            "exp": issued_at + ttl_seconds,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self.private_key, algorithm=DEV_ALGORITHM, headers={"kid": self.kid, "typ": "JWT"})


def load_or_create_dev_key(instance_dir: Path) -> DevKey:
    """The dev key from ``<instance_dir>/dev-signing-key.pem``, generated there if missing."""
    pem = read_or_create_secret(instance_dir / KEY_FILE_NAME, _new_private_key_pem)
    private_key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(private_key, ec.EllipticCurvePrivateKey) or private_key.curve.name != "secp384r1":
        raise ValueError(f"{instance_dir / KEY_FILE_NAME} is not a P-384 EC private key; delete it to regenerate")
    return DevKey(private_key, _thumbprint(private_key.public_key()))


def _new_private_key_pem() -> bytes:
    return ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _public_jwk_members(public_key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    jwk = ECAlgorithm.to_jwk(public_key, as_dict=True)
    return {name: jwk[name] for name in ("crv", "kty", "x", "y")}


def _thumbprint(public_key: ec.EllipticCurvePublicKey) -> str:
    canonical = json.dumps(_public_jwk_members(public_key), sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
