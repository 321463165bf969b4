"""Verify the EHR's signed JWT (CONFORMANCE.md "Trusting the client").

A token is accepted only when every check passes; any failure is one ``Unauthorized`` with no
detail, and one WARNING log line giving a reason code plus iss/kid/jti (never the token).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import jwt

from cds_service.auth.issuers import ALLOWED_ALGORITHMS, IssuerConfig
from cds_service.auth.jwks import JwksCache, fetch_jwks_http
from cds_service.auth.replay import ReplayCache, ReplayStoreError
from cds_service.errors import Unauthorized

log = logging.getLogger("cds_service.auth")

# The key each algorithm needs, so a token can never steer us to a key of another kind.
_KEY_SHAPE: dict[str, tuple[str, str | None]] = {
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "RS256": ("RSA", None),
    "RS384": ("RSA", None),
    "PS384": ("RSA", None),
}
_REQUIRED_CLAIMS = ("iss", "aud", "exp", "iat", "jti")
MAX_TOKEN_CHARS = 16_384
_LOG_FIELD_CHARS = 100


class _Refusal(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class JwtVerifier:
    """Check ``Authorization: Bearer <jwt>`` headers against the trusted issuers."""

    def __init__(
        self,
        issuers: Mapping[str, IssuerConfig],
        *,
        replay: ReplayCache,
        leeway: int = 60,
        jwks_ttl: float = 3600,
        fetch_jwks: Callable[[str], Mapping[str, Any]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._issuers = dict(issuers)
        self._replay = replay
        self._leeway = leeway
        self._clock = clock
        self._jwks = JwksCache(fetch_jwks or fetch_jwks_http, ttl=jwks_ttl, clock=clock)

    def verify(self, authorization: str | None, audience: str) -> dict[str, Any]:
        """Return the token's claims, or raise ``Unauthorized`` (no detail) on any failure."""
        seen: dict[str, Any] = {}
        try:
            return self._verify(authorization, audience, seen)
        except _Refusal as refusal:
            reason = refusal.reason
        except Exception as exc:  # a library surprise is still a refusal (401), never a 500
            reason = f"error-{type(exc).__name__}"
        log.warning(
            "jwt refused reason=%s iss=%s kid=%s jti=%s",
            reason,
            _loggable(seen.get("iss")),
            _loggable(seen.get("kid")),
            _loggable(seen.get("jti")),
        )
        raise Unauthorized()

    def _verify(
        self, authorization: str | None, audience: str, seen: dict[str, Any]
    ) -> dict[str, Any]:
        token = _bearer_token(authorization)
        header, unverified = _peek(token)
        seen.update(iss=unverified.get("iss"), kid=header.get("kid"), jti=unverified.get("jti"))
        # The algorithm is fixed before any key is chosen, so RS→HS key confusion is impossible.
        alg = _check_header(header)
        iss = unverified.get("iss")
        issuer = self._issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise _Refusal("unknown-iss")
        if alg not in issuer.algorithms:
            raise _Refusal("alg-not-allowed")
        jwk = self._select_key(issuer, header, alg)
        claims = _verified_claims(token, jwk, alg)
        self._check_claims(claims, issuer, audience)
        self._check_replay(claims)
        return claims

    def _select_key(
        self, issuer: IssuerConfig, header: Mapping[str, Any], alg: str
    ) -> Mapping[str, Any]:
        jku = header.get("jku")
        if jku is not None and jku not in issuer.jku:
            raise _Refusal("unlisted-jku")  # never fetched: no SSRF, no attacker-chosen keys
        kid = header.get("kid")
        if issuer.keys:
            # Inline keys win even over an allowlisted jku (offline CDS Hooks Sandbox case).
            found = _pick_key(issuer.keys, kid, alg)
        else:
            if jku is None and len(issuer.jku) != 1:
                raise _Refusal("jku-required")
            url = jku if isinstance(jku, str) else issuer.jku[0]
            found = _pick_key(self._jwks.get(url), kid, alg)
            if found is None and kid is not None:
                found = _pick_key(self._jwks.refresh(url), kid, alg)  # key rotation
        if found is None:
            raise _Refusal("unknown-kid")
        return found

    def _check_claims(self, claims: Mapping[str, Any], issuer: IssuerConfig, aud: str) -> None:
        for name in _REQUIRED_CLAIMS:
            if name not in claims:
                raise _Refusal(f"missing-{name}")
        if claims["iss"] != issuer.iss:
            raise _Refusal("bad-iss")
        if not _audience_matches(claims["aud"], aud):
            raise _Refusal("bad-aud")
        self._check_times(claims)
        jti = claims["jti"]
        if not isinstance(jti, str) or not jti or len(jti) > 256:
            raise _Refusal("bad-jti")
        if issuer.tenants and claims.get("tenant") not in issuer.tenants:
            raise _Refusal("bad-tenant")

    def _check_times(self, claims: Mapping[str, Any]) -> None:
        now, leeway = self._clock(), self._leeway
        for name in ("exp", "iat", "nbf"):
            if name in claims and not _is_number(claims[name]):
                raise _Refusal(f"bad-{name}")
        if claims["exp"] + leeway <= now:
            raise _Refusal("expired")
        if claims["iat"] > now + leeway:
            raise _Refusal("future-iat")
        if "nbf" in claims and claims["nbf"] > now + leeway:
            raise _Refusal("not-yet-valid")

    def _check_replay(self, claims: Mapping[str, Any]) -> None:
        # Checked last, so a token refused for another reason does not burn its jti.
        key = f"{claims['iss']}|{claims['jti']}"
        try:
            first = self._replay.first_use(key, float(claims["exp"]) + self._leeway)
        except ReplayStoreError:
            raise _Refusal("replay-store-unavailable") from None
        if not first:
            raise _Refusal("replay")


def _bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise _Refusal("no-token")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise _Refusal("not-bearer")
    if len(token) > MAX_TOKEN_CHARS:
        raise _Refusal("malformed")
    return token


def _peek(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        header = jwt.get_unverified_header(token)
        payload = jwt.decode(token, options={"verify_signature": False})
    except (jwt.PyJWTError, ValueError, TypeError):
        raise _Refusal("malformed") from None
    return header, payload


def _check_header(header: Mapping[str, Any]) -> str:
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALLOWED_ALGORITHMS:
        raise _Refusal("bad-alg")  # none, HS*, and anything else we do not verify
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.upper() != "JWT"):
        raise _Refusal("bad-typ")
    for name in ("kid", "jku"):
        if name in header and not isinstance(header[name], str):
            raise _Refusal(f"bad-{name}")
    return alg


def _pick_key(
    keys: tuple[Mapping[str, Any], ...], kid: str | None, alg: str
) -> Mapping[str, Any] | None:
    if kid is None:
        if len(keys) > 1:
            raise _Refusal("kid-required")
        candidates = list(keys)
    else:
        candidates = [jwk for jwk in keys if jwk.get("kid") == kid]
    if not candidates:
        return None
    if len(candidates) > 1:
        raise _Refusal("ambiguous-kid")
    jwk = candidates[0]
    kty, crv = _KEY_SHAPE[alg]
    if jwk.get("kty") != kty or (crv and jwk.get("crv") != crv) or jwk.get("alg", alg) != alg:
        raise _Refusal("key-alg-mismatch")
    return jwk


@lru_cache(maxsize=64)
def _cached_key(members: tuple[tuple[str, Any], ...], alg: str) -> jwt.PyJWK:
    return jwt.PyJWK(dict(members), algorithm=alg)


def _key_object(jwk: Mapping[str, Any], alg: str) -> jwt.PyJWK:
    """Return the parsed public key of a JWK; parsed once per distinct key and algorithm."""
    members = tuple(sorted(jwk.items()))
    try:
        hash(members)
    except TypeError:  # an inline key with a list or dict member: parse it every time
        return jwt.PyJWK(dict(jwk), algorithm=alg)
    return _cached_key(members, alg)


def _verified_claims(token: str, jwk: Mapping[str, Any], alg: str) -> dict[str, Any]:
    try:
        key = _key_object(jwk, alg)
        claims: dict[str, Any] = jwt.decode(
            token,
            key=key,
            algorithms=[alg],
            # Claims are checked by _check_claims against the injected clock; only the
            # signature (and a minimum key length) is left to PyJWT.
            options={
                "verify_signature": True,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
                "verify_sub": False,
                "verify_jti": False,
                "require": [],
                "enforce_minimum_key_length": True,
            },
        )
    except (jwt.PyJWTError, ValueError, TypeError):
        raise _Refusal("bad-signature") from None
    return claims


def _audience_matches(claimed: Any, audience: str) -> bool:
    if isinstance(claimed, str):
        return claimed == audience
    return (
        isinstance(claimed, list)
        and audience in claimed
        and all(isinstance(item, str) for item in claimed)
    )


def _is_number(value: Any) -> bool:
    # json accepts NaN and Infinity; a NaN exp would compare as "never expired".
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _loggable(value: Any) -> str:
    """Return a short, single-line form of an untrusted header/claim value for the log."""
    if not isinstance(value, str) or not value:
        return "-"
    return "".join(c if c.isprintable() and not c.isspace() else "?" for c in value)[
        :_LOG_FIELD_CHARS
    ]
