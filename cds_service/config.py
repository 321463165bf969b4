"""Settings: embedded defaults, then ``CDS_*`` environment variables, then the test mapping.

Every setting has a default here; an environment variable may only name a setting that exists,
so a typo such as ``CDS_AUTH_MOD=off`` stops the start instead of being silently ignored.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cds_service.errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
SANDBOX_KEYS = PROJECT_DIR / "sandbox" / "keys"

SANDBOX_ISSUER = "https://sandbox.cds-hooks.org"
SANDBOX_JKU = "https://sandbox.cds-hooks.org/.well-known/jwks.json"
DEV_ISSUER = "https://b-all-pathway.example/sandbox-ehr"

DEFAULTS: dict[str, Any] = {
    # "" = production-safe (trust only configured issuers); "local" = what `make run` uses.
    "PROFILE": "",
    "HOST": "127.0.0.1",
    "PORT": 8080,
    # Base of the URLs the EHR calls; the JWT `aud` must equal base + path. Derived when empty.
    "PUBLIC_BASE_URL": "",
    "AUTH": "required",
    # JSON file: {"issuers": {iss: {"jku": [...], "jwks": {...}, "algorithms": [...]}}}
    "TRUSTED_ISSUERS_FILE": "",
    # The same structure inline (tests, or a deployment that prefers one JSON env value).
    "TRUSTED_ISSUERS": {},
    "JWT_LEEWAY_SECONDS": 60,
    "JWKS_CACHE_SECONDS": 3600,
    "REDIS_URL": "",
    "CORS_ORIGINS": [],
    "FHIR_TIMEOUT_SECONDS": 2.0,
    "FHIR_MAX_WORKERS": 8,
    "FHIR_MAX_PAGES": 10,
    # _count asked of searches built from prefetch templates (a server may page smaller).
    "FHIR_PAGE_SIZE": 1000,
    "FHIR_MAX_RESPONSE_BYTES": 20_000_000,
    "FHIR_ALLOWED_HOSTS": [],
    "DATABASE_URL": "",
    "KNOWLEDGE_DIR": str(PACKAGE_DIR / "knowledge"),
    "CANONICAL_BASE": "https://b-all-pathway.example/fhir",
    "SMART_CLIENT_ID": "",
    "SMART_CLIENT_SECRET": "",
    "SMART_REDIRECT_URL": "",
    "SMART_ALLOWED_ISS_HOSTS": [],
    "SECRET_KEY": "",
    "MAX_REQUEST_BYTES": 10_000_000,
    "LOG_LEVEL": "INFO",
}

# What `make run` serves with: trust the CDS Hooks Sandbox (its private key is public, so this is
# never a production default) and the sandbox's development EHR, allow loopback FHIR servers.
LOCAL_PROFILE: dict[str, Any] = {
    "TRUSTED_ISSUERS": {
        SANDBOX_ISSUER: {
            "jku": [SANDBOX_JKU],
            "jwks_file": str(SANDBOX_KEYS / "cds-hooks-sandbox-jwks.json"),
            "algorithms": ["ES384"],
        },
        DEV_ISSUER: {
            "jwks_file": str(SANDBOX_KEYS / "dev-jwks.json"),
            "algorithms": ["ES384"],
        },
    },
    "CORS_ORIGINS": ["*"],
    "FHIR_ALLOWED_HOSTS": ["127.0.0.1", "localhost", "[::1]"],
    "SMART_CLIENT_ID": "b-all-viewer-local",
    "SMART_ALLOWED_ISS_HOSTS": ["127.0.0.1", "localhost"],
    "DATABASE_URL": f"sqlite:///{PROJECT_DIR / 'var' / 'feedback.sqlite3'}",
}

ENV_PREFIX = "CDS_"


def load_config(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Merge defaults, the profile, ``CDS_*`` variables and ``overrides`` into one settings dict."""
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    from_env = _read_environment(environ)
    profile = overrides.get("PROFILE", from_env.get("PROFILE", DEFAULTS["PROFILE"]))
    if profile not in ("", "local"):
        raise ConfigError(f"CDS_PROFILE must be 'local' or empty, not {profile!r}")
    settings = dict(DEFAULTS)
    if profile == "local":
        settings.update(LOCAL_PROFILE)
    settings.update(from_env)
    unknown = sorted(set(overrides) - set(DEFAULTS) - _FLASK_KEYS)
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
    settings.update(overrides)
    _check(settings)
    if not settings["PUBLIC_BASE_URL"]:
        settings["PUBLIC_BASE_URL"] = f"http://{settings['HOST']}:{settings['PORT']}"
    settings["PUBLIC_BASE_URL"] = str(settings["PUBLIC_BASE_URL"]).rstrip("/")
    return settings


# Flask's own keys a test mapping may set alongside ours.
_FLASK_KEYS = {"TESTING", "DEBUG", "SERVER_NAME"}


def _read_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX):
            continue
        key = name[len(ENV_PREFIX) :]
        if key not in DEFAULTS:
            raise ConfigError(
                f"unknown environment variable {name}; known: "
                + ", ".join(ENV_PREFIX + k for k in sorted(DEFAULTS))
            )
        values[key] = _coerce(name, environ[name], DEFAULTS[key])
    return values


def _coerce(name: str, raw: str, default: Any) -> Any:
    try:
        if isinstance(default, bool):
            return raw.strip().lower() in ("1", "true", "yes", "on")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, list):
            return [item.strip() for item in raw.split(",") if item.strip()]
        if isinstance(default, dict):
            value = json.loads(raw)
            if not isinstance(value, dict):
                raise ValueError("expected a JSON object")
            return value
    except ValueError as exc:
        raise ConfigError(f"{name}: cannot read {raw[:40]!r} ({exc})") from None
    return raw


def _check(settings: Mapping[str, Any]) -> None:
    if settings["AUTH"] not in ("required", "off"):
        raise ConfigError("CDS_AUTH must be 'required' or 'off'")
    positive = ("FHIR_TIMEOUT_SECONDS", "MAX_REQUEST_BYTES", "FHIR_PAGE_SIZE", "FHIR_MAX_PAGES")
    for name in positive:
        if settings[name] <= 0:
            raise ConfigError(f"CDS_{name} must be positive")
