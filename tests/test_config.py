"""Settings: defaults, then CDS_* variables, then the test mapping; typos stop the start."""

from __future__ import annotations

import pytest

from cds_service.config import load_config
from cds_service.errors import ConfigError


def test_defaults_are_production_safe() -> None:
    settings = load_config({})
    assert settings["AUTH"] == "required"
    assert settings["TRUSTED_ISSUERS"] == {}
    assert settings["CORS_ORIGINS"] == []
    assert settings["FHIR_ALLOWED_HOSTS"] == []
    assert settings["PUBLIC_BASE_URL"] == "http://127.0.0.1:8080"


def test_environment_overrides_defaults_and_mapping_overrides_environment() -> None:
    env = {"CDS_PORT": "9090", "CDS_FHIR_TIMEOUT_SECONDS": "1.5", "CDS_CORS_ORIGINS": "a, b"}
    settings = load_config(env, {"PORT": 9191})
    assert settings["PORT"] == 9191
    assert settings["FHIR_TIMEOUT_SECONDS"] == 1.5
    assert settings["CORS_ORIGINS"] == ["a", "b"]
    assert settings["PUBLIC_BASE_URL"] == "http://127.0.0.1:9191"


def test_unknown_cds_variable_stops_the_start_naming_it() -> None:
    with pytest.raises(ConfigError, match="CDS_AUTH_MOD"):
        load_config({"CDS_AUTH_MOD": "off"})


@pytest.mark.parametrize(
    ("name", "value"),
    [("CDS_PORT", "eighty"), ("CDS_TRUSTED_ISSUERS", "[1]"), ("CDS_AUTH", "maybe")],
)
def test_unreadable_values_stop_the_start(name: str, value: str) -> None:
    with pytest.raises(ConfigError):
        load_config({name: value})


def test_local_profile_trusts_the_sandbox_and_allows_loopback() -> None:
    settings = load_config({"CDS_PROFILE": "local"})
    assert "https://sandbox.cds-hooks.org" in settings["TRUSTED_ISSUERS"]
    assert settings["CORS_ORIGINS"] == ["*"]
    assert "127.0.0.1" in settings["FHIR_ALLOWED_HOSTS"]


def test_public_base_url_is_normalised_without_trailing_slash() -> None:
    assert load_config({"CDS_PUBLIC_BASE_URL": "https://cds.example.org/"})["PUBLIC_BASE_URL"] == (
        "https://cds.example.org"
    )


def test_unknown_key_in_the_test_mapping_is_refused() -> None:
    with pytest.raises(ConfigError, match="FHIR_TIMEOUT"):
        load_config({}, {"FHIR_TIMEOUT": 1})
