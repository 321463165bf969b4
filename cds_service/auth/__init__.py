"""CDS client trust: verify the EHR's signed JWT (CONFORMANCE.md "Trusting the client").

``issuers`` reads the trusted-issuer configuration, ``jwks`` fetches and caches their keys,
``verifier`` checks a bearer token, and ``replay`` refuses a ``jti`` seen before.
"""

from __future__ import annotations

from cds_service.auth.issuers import IssuerConfig, load_issuers
from cds_service.auth.jwks import JwksCache, fetch_jwks_http, public_keys
from cds_service.auth.replay import (
    MemoryReplayCache,
    RedisReplayCache,
    ReplayCache,
    ReplayStoreError,
    make_replay_cache,
)
from cds_service.auth.verifier import JwtVerifier

__all__ = [
    "IssuerConfig",
    "JwksCache",
    "JwtVerifier",
    "MemoryReplayCache",
    "RedisReplayCache",
    "ReplayCache",
    "ReplayStoreError",
    "fetch_jwks_http",
    "load_issuers",
    "make_replay_cache",
    "public_keys",
]
