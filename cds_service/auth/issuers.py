"""Trusted CDS clients: read and check the issuer configuration (file and inline setting).

Each issuer names the ``jku`` URLs it may use and/or its public keys inline, plus the
algorithms and tenants it may send. Anything doubtful stops the start with a ``ConfigError``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt

from cds_service.auth.jwks import public_keys
from cds_service.errors import ConfigError

# Asymmetric only: "none" and every HMAC algorithm are refused outright (spec: SHALL NOT).
ALLOWED_ALGORITHMS = frozenset({"ES256", "ES384", "RS256", "RS384", "PS384"})
DEFAULT_ALGORITHMS = ("ES384", "RS384")
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
_ISSUER_FIELDS = frozenset({"jku", "jwks", "jwks_file", "algorithms", "tenants"})


@dataclass(frozen=True)
class IssuerConfig:
    """One trusted CDS client: where its keys are and what it may send."""

    iss: str
    jku: tuple[str, ...] = ()
    keys: tuple[Mapping[str, Any], ...] = ()  # inline public JWKs; empty = fetch from jku
    algorithms: frozenset[str] = frozenset(DEFAULT_ALGORITHMS)
    tenants: frozenset[str] = frozenset()  # empty = any (or no) tenant


# --------------------------------------------------------------------------- configuration


def load_issuers(settings: Mapping[str, Any]) -> dict[str, IssuerConfig]:
    """Merge the trusted-issuers file and the inline setting into checked issuer configs."""
    raw: dict[str, tuple[Any, Path]] = {}
    path = str(settings.get("TRUSTED_ISSUERS_FILE") or "")
    if path:
        file_path = Path(path)
        for iss, entry in _read_issuers_file(file_path).items():
            raw[iss] = (entry, file_path.parent)
    inline = settings.get("TRUSTED_ISSUERS") or {}
    if not isinstance(inline, Mapping):
        raise ConfigError("TRUSTED_ISSUERS must be an object {issuer: {...}}")
    for iss, entry in inline.items():
        raw[iss] = (entry, Path.cwd())  # the setting wins over the file for the same issuer
    return {iss: _issuer(iss, entry, base) for iss, (entry, base) in raw.items()}


def _read_issuers_file(path: Path) -> Mapping[str, Any]:
    data = _read_json_file(path, "trusted issuers file")
    issuers = data.get("issuers") if isinstance(data, dict) else None
    if not isinstance(issuers, dict):
        raise ConfigError(f'trusted issuers file {path}: expected {{"issuers": {{...}}}}')
    return issuers


def _read_json_file(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc}") from None


def _issuer(iss: Any, entry: Any, base_dir: Path) -> IssuerConfig:
    if not isinstance(iss, str) or not iss:
        raise ConfigError("trusted issuer names must be non-empty strings")
    if not isinstance(entry, Mapping):
        raise ConfigError(f"trusted issuer {iss}: expected an object")
    unknown = sorted(set(entry) - _ISSUER_FIELDS)
    if unknown:
        raise ConfigError(f"trusted issuer {iss}: unknown field(s) {', '.join(unknown)}")
    jku = _str_list(iss, "jku", entry.get("jku", []))
    for url in jku:
        _check_jku(iss, url)
    algorithms = _str_list(iss, "algorithms", entry.get("algorithms", list(DEFAULT_ALGORITHMS)))
    bad = sorted(set(algorithms) - ALLOWED_ALGORITHMS)
    if bad or not algorithms:
        raise ConfigError(
            f"trusted issuer {iss}: algorithms must be a non-empty subset of "
            f"{', '.join(sorted(ALLOWED_ALGORITHMS))}; refused: {', '.join(bad) or '(empty)'}"
        )
    keys = _inline_keys(iss, entry, base_dir)
    if not jku and not keys:
        raise ConfigError(f"trusted issuer {iss}: needs 'jku' URLs or keys ('jwks'/'jwks_file')")
    tenants = _str_list(iss, "tenants", entry.get("tenants", []))
    return IssuerConfig(iss, jku, keys, frozenset(algorithms), frozenset(tenants))


def _str_list(iss: str, field: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"trusted issuer {iss}: '{field}' must be a list of non-empty strings")
    return tuple(value)


def _check_jku(iss: str, url: str) -> None:
    parts = urlsplit(url)
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if not parts.hostname or not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
        raise ConfigError(f"trusted issuer {iss}: jku {url!r} must be an https URL")


def _inline_keys(iss: str, entry: Mapping[str, Any], base_dir: Path) -> tuple[dict[str, Any], ...]:
    if "jwks" in entry and "jwks_file" in entry:
        raise ConfigError(f"trusted issuer {iss}: give 'jwks' or 'jwks_file', not both")
    if "jwks_file" in entry:
        if not isinstance(entry["jwks_file"], str) or not entry["jwks_file"]:
            raise ConfigError(f"trusted issuer {iss}: 'jwks_file' must be a path")
        source = _read_json_file(base_dir / entry["jwks_file"], f"JWKS of {iss}")
    elif "jwks" in entry:
        source = entry["jwks"]
    else:
        return ()
    listed = source.get("keys") if isinstance(source, Mapping) else None
    if not isinstance(listed, list) or not listed:
        raise ConfigError(f'trusted issuer {iss}: JWKS must be {{"keys": [...]}} with keys')
    for jwk in listed:
        _check_inline_jwk(iss, jwk)
    kids = [jwk["kid"] for jwk in listed if "kid" in jwk]
    if len(kids) != len(set(kids)):
        raise ConfigError(f"trusted issuer {iss}: JWKS has duplicate 'kid' values")
    return tuple(public_keys({"keys": listed}))


def _check_inline_jwk(iss: str, jwk: Any) -> None:
    if not isinstance(jwk, Mapping) or jwk.get("kty") not in ("EC", "RSA"):
        raise ConfigError(f"trusted issuer {iss}: each key must be an EC or RSA JWK")
    if any(member in jwk for member in _PRIVATE_MEMBERS):
        raise ConfigError(f"trusted issuer {iss}: JWKS holds private key material; remove it")
    if jwk.get("use", "sig") != "sig" or ("alg" in jwk and jwk["alg"] not in ALLOWED_ALGORITHMS):
        raise ConfigError(f"trusted issuer {iss}: key {jwk.get('kid')!r} is not a signing key")
    try:
        jwt.PyJWK(dict(jwk))
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise ConfigError(f"trusted issuer {iss}: unusable key {jwk.get('kid')!r}: {exc}") from None
