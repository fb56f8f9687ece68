"""A throw-away CDS client issuer for the benchmarks: an ES384 key, its trusted-issuers file, its tokens.

The service is measured with authentication on, as it runs in production:
every hook call carries a fresh JWT (the service refuses a replayed ``jti``),
verified against the issuer's inline JWKS. Tokens are minted before the timed
loop; minting is the client's cost, verifying is the service's.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

ISSUER = "https://bench-ehr.example.org"
KID = "bench-es384"
ALGORITHM = "ES384"
TOKEN_TTL_SECONDS = 600


class BenchIssuer:
    """Signs client tokens; ``write_trusted_issuers`` tells the service to trust them."""

    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP384R1())

    def write_trusted_issuers(self, path: Path) -> Path:
        """The ``BME_CDS_TRUSTED_ISSUERS`` file: this issuer with its public key inline."""
        jwk = ECAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        entry = {"iss": ISSUER, "jwks": {"keys": [{**jwk, "kid": KID, "use": "sig", "alg": ALGORITHM}]}}
        path.write_text(json.dumps({"issuers": [entry]}), encoding="utf-8")
        return path

    def mint(self, audience: str, count: int) -> list[str]:
        """``count`` single-use tokens for ``audience`` (the exact URL called)."""
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": audience, "iat": now, "exp": now + TOKEN_TTL_SECONDS}
        headers = {"kid": KID, "typ": "JWT"}
        return [
            jwt.encode({**claims, "jti": str(uuid.uuid4())}, self._key, algorithm=ALGORITHM, headers=headers)
            for _ in range(count)
        ]
