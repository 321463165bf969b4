"""CDS client JWT verification: loading the trusted issuers from settings and files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cds_service.auth import load_issuers
from cds_service.config import LOCAL_PROFILE, PROJECT_DIR
from cds_service.errors import ConfigError
from tests.unit.auth_keys import ISS, JKU, OTHER_ISS, SANDBOX_ISS, SANDBOX_JKU, SANDBOX_PRIVATE_JWK
from tests.unit.auth_support import EC_ISSUER, RSA_JKU_ISSUER, RSA_JWKS


def _write_json(path: Path, data: Any) -> str:
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def test_issuers_file_and_setting_are_merged(tmp_path: Path) -> None:
    _write_json(tmp_path / "ehr-jwks.json", RSA_JWKS)
    file_issuers = {"issuers": {OTHER_ISS: {"jwks_file": "ehr-jwks.json", "tenants": ["org-1"]}}}
    settings = {
        "TRUSTED_ISSUERS_FILE": _write_json(tmp_path / "issuers.json", file_issuers),
        "TRUSTED_ISSUERS": {ISS: RSA_JKU_ISSUER},
    }
    issuers = load_issuers(settings)
    assert issuers[ISS].jku == (JKU,)
    assert issuers[ISS].algorithms == frozenset({"RS384"})
    assert issuers[OTHER_ISS].keys[0]["kid"] == "rsa-1"  # jwks_file is relative to the file
    assert issuers[OTHER_ISS].algorithms == frozenset({"ES384", "RS384"})
    assert issuers[OTHER_ISS].tenants == frozenset({"org-1"})


def test_local_profile_issuers_load_the_sandbox_public_key() -> None:
    issuers = load_issuers({"TRUSTED_ISSUERS_FILE": "", **LOCAL_PROFILE})
    sandbox_jwks = json.loads(
        (PROJECT_DIR / "sandbox/keys/cds-hooks-sandbox-jwks.json").read_text(encoding="utf-8")
    )
    assert issuers[SANDBOX_ISS].jku == (SANDBOX_JKU,)
    assert issuers[SANDBOX_ISS].keys[0]["x"] == sandbox_jwks["keys"][0]["x"]
    assert issuers[SANDBOX_ISS].keys[0]["x"] == SANDBOX_PRIVATE_JWK["x"]


def test_no_issuers_configured_gives_an_empty_trust_list() -> None:
    assert load_issuers({"TRUSTED_ISSUERS_FILE": "", "TRUSTED_ISSUERS": {}}) == {}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({**EC_ISSUER, "algorithms": ["HS256"]}, "algorithms"),
        ({**EC_ISSUER, "algorithms": ["none"]}, "algorithms"),
        ({**EC_ISSUER, "algorithms": ["ES512"]}, "algorithms"),
        ({**EC_ISSUER, "algorithms": []}, "algorithms"),
        ({"algorithms": ["ES384"]}, "needs 'jku' URLs or keys"),
        ({"jwks": {"keys": []}}, "JWKS must be"),
        ({"jwks": {"keys": [SANDBOX_PRIVATE_JWK]}}, "private key material"),
        ({"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}, "EC or RSA"),
        ({"jwks": {"keys": [{"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}]}}, "unusable"),
        ({"jwks_file": "/nonexistent/jwks.json"}, "cannot read"),
        ({"jwks": EC_ISSUER["jwks"], "jwks_file": "x.json"}, "not both"),
        ({"jku": "https://ehr.example/jwks.json"}, "list of non-empty strings"),
        ({"jku": ["http://ehr.example/jwks.json"]}, "https"),
        ({"jku": ["not a url"]}, "https"),
        ({**EC_ISSUER, "tenants": "org-1"}, "tenants"),
        ({**EC_ISSUER, "jwks_url": JKU}, "unknown field"),
        ("https://ehr.example/jwks.json", "expected an object"),
    ],
)
def test_malformed_issuer_is_a_config_error(entry: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_issuers({"TRUSTED_ISSUERS_FILE": "", "TRUSTED_ISSUERS": {ISS: entry}})


@pytest.mark.parametrize(
    "content", ["{not json", json.dumps({ISS: EC_ISSUER}), json.dumps({"issuers": []})]
)
def test_malformed_issuers_file_is_a_config_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "issuers.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match="issuers file"):
        load_issuers({"TRUSTED_ISSUERS_FILE": str(path), "TRUSTED_ISSUERS": {}})


def test_missing_issuers_file_is_a_config_error(tmp_path: Path) -> None:
    settings = {"TRUSTED_ISSUERS_FILE": str(tmp_path / "absent.json"), "TRUSTED_ISSUERS": {}}
    with pytest.raises(ConfigError, match="cannot read"):
        load_issuers(settings)


def test_loopback_http_jku_is_allowed_for_local_development() -> None:
    settings = {"TRUSTED_ISSUERS": {ISS: {"jku": ["http://127.0.0.1:9000/jwks.json"]}}}
    assert load_issuers(settings)[ISS].jku == ("http://127.0.0.1:9000/jwks.json",)
