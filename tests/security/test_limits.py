"""Limits: body size (413, also chunked), deep nesting, huge strings, and hosts never contacted.

SSRF: a ``fhirServer`` outside CDS_FHIR_ALLOWED_HOSTS and a ``jku`` outside the issuer's list
are never contacted; loopback servers count every request they receive to prove it.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from werkzeug.serving import make_server

from cds_service import create_app
from tests.api import requests as rq
from tests.conftest import BASE_URL, EHR_ISSUER, TODAY, Ehr, app_settings, counting_uuids
from tests.security.conftest import assert_outcome
from tests.security.loopback import LoopbackServer, json_reply

PV = "/cds-services/b-all-pathway"
LIMIT = 200_000  # CDS_MAX_REQUEST_BYTES for these tests
HUGE = 5_000_000
MARKER = "Zq" * 50  # a run that would show up if a huge value were echoed


def _app(ehr: Ehr, tmp_path: Any, **overrides: Any) -> Flask:
    settings = app_settings(ehr, tmp_path, **{"MAX_REQUEST_BYTES": LIMIT, **overrides})
    return create_app(settings, today=lambda: TODAY, new_uuid=counting_uuids())


@pytest.fixture
def limited_app(ehr: Ehr, tmp_path: Any) -> Flask:
    return _app(ehr, tmp_path)


def _padded(size: int) -> bytes:
    body = rq.patient_view(extension={"pad": ""})
    overhead = len(json.dumps(body).encode())
    body["extension"]["pad"] = "x" * (size - overhead)
    raw = json.dumps(body).encode()
    assert len(raw) == size
    return raw


def _post_raw(app: Flask, ehr: Ehr, raw: bytes, **kwargs: Any) -> Any:
    return app.test_client().post(
        PV, data=raw, content_type="application/json", headers=ehr.headers(PV), **kwargs
    )


def _assert_too_large(status: int, text: str) -> None:
    assert status == 413
    body = json.loads(text)
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == "too-costly"


def test_body_one_byte_over_the_limit_is_413(limited_app: Flask, ehr: Ehr) -> None:
    response = _post_raw(limited_app, ehr, _padded(LIMIT + 1))
    _assert_too_large(response.status_code, response.get_data(as_text=True))


def test_body_at_the_limit_is_read(limited_app: Flask, ehr: Ehr) -> None:
    assert _post_raw(limited_app, ehr, _padded(LIMIT)).status_code == 200


def test_body_far_over_the_limit_is_413(limited_app: Flask, ehr: Ehr) -> None:
    response = _post_raw(limited_app, ehr, _padded(HUGE))
    _assert_too_large(response.status_code, response.get_data(as_text=True))


def test_body_shorter_than_its_content_length_is_400(limited_app: Flask, ehr: Ehr) -> None:
    raw = _padded(LIMIT // 2)
    response = _post_raw(
        limited_app, ehr, raw[:-100], environ_overrides={"CONTENT_LENGTH": str(len(raw))}
    )
    assert response.status_code == 400
    assert response.get_json()["issue"][0]["expression"] == ["$"]


def test_a_large_body_over_real_http_is_read_whole(served: str, ehr: Ehr) -> None:
    raw = _padded(LIMIT)
    response = requests.post(
        served + PV,
        data=raw,
        headers={"Content-Type": "application/json", **ehr.headers(PV)},
        timeout=10,
    )
    assert response.status_code == 200, response.text[:300]


@pytest.fixture
def served(limited_app: Flask) -> Iterator[str]:
    """Serve the app over real HTTP (werkzeug, loopback) for transfer-encoding tests."""
    server = make_server("127.0.0.1", 0, limited_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _chunks(raw: bytes, size: int = 16_384) -> Iterator[bytes]:
    for start in range(0, len(raw), size):
        yield raw[start : start + size]


def test_chunked_body_over_the_limit_is_413(served: str, ehr: Ehr) -> None:
    # A generator body goes out with Transfer-Encoding: chunked and no Content-Length.
    raw = _padded(LIMIT * 3)
    response = requests.post(
        served + PV,
        data=_chunks(raw),
        headers={"Content-Type": "application/json", **ehr.headers(PV)},
        timeout=10,
    )
    assert "Content-Length" not in response.request.headers
    _assert_too_large(response.status_code, response.text)


def test_chunked_body_under_the_limit_is_read(served: str, ehr: Ehr) -> None:
    response = requests.post(
        served + PV,
        data=_chunks(_padded(LIMIT // 2)),
        headers={"Content-Type": "application/json", **ehr.headers(PV)},
        timeout=10,
    )
    assert response.status_code == 200


@pytest.mark.parametrize("depth", [1_000, 50_000])
def test_deeply_nested_body_is_400(limited_app: Flask, ehr: Ehr, depth: int) -> None:
    raw = b'{"hook": "patient-view", "extension": {"x": ' + b"[" * depth + b"]" * depth + b"}}"
    response = _post_raw(limited_app, ehr, raw)
    assert response.status_code == 400
    assert response.get_json()["issue"][0]["expression"] == ["$"]


def test_nesting_that_parses_inside_a_prefetched_resource_is_not_a_500(
    limited_app: Flask, ehr: Ehr
) -> None:
    nested: Any = "leaf"
    for _ in range(250):  # 750 levels: parses, yet deeper than any real resource
        nested = {"extension": [{"url": "http://x.example", "valueString": "v", "x": nested}]}
    condition = {**rq.B_ALL, "extension": [nested]}
    body = rq.patient_view(prefetch={**rq.prefetch(), "conditions": rq.searchset(condition)})
    response = _post_raw(limited_app, ehr, json.dumps(body).encode())
    assert_outcome(response.status_code, response.get_data(as_text=True), response.get_json())


def _with(path: tuple[str, ...], value: str) -> dict[str, Any]:
    body = rq.patient_view()
    target = body
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return body


@pytest.mark.parametrize(
    "path",
    [
        ("hook",),
        ("hookInstance",),
        ("fhirServer",),
        ("context", "patientId"),
        ("context", "userId"),
    ],
    ids=lambda path: ".".join(path),
)
def test_five_megabyte_string_is_400_without_echo(
    ehr: Ehr, tmp_path: Any, path: tuple[str, ...]
) -> None:
    app = _app(ehr, tmp_path, MAX_REQUEST_BYTES=10_000_000)
    value = MARKER + "x" * (HUGE - len(MARKER))
    response = _post_raw(app, ehr, json.dumps(_with(path, value)).encode())
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert MARKER not in text
    assert len(text) < 1_000
    assert response.get_json()["issue"][0]["expression"] == [".".join(path)]


# --------------------------------------------------------------------------- SSRF: fhirServer


def _ssrf_targets(port: int) -> list[str]:
    """Ways to name the loopback server that an allow-list of fhir.test.example must refuse."""
    return [
        f"http://127.0.0.1:{port}/r4",
        f"http://localhost:{port}/r4",
        f"http://fhir.test.example@127.0.0.1:{port}/r4",
        f"http://127.0.0.1:{port}#@fhir.test.example/r4",
        f"http://127.0.0.1:{port}\\@fhir.test.example/r4",
        f"http://127.0.0.1:{port}/fhir.test.example",
        f"http://2130706433:{port}/r4",
        f"http://0x7f000001:{port}/r4",
        f"http://127.1:{port}/r4",
        f"http://[::ffff:127.0.0.1]:{port}/r4",
        f"HTTP://127.0.0.1:{port}/r4",
    ]


def test_fhir_server_outside_the_allowed_hosts_is_never_contacted(
    ehr: Ehr, tmp_path: Any, loopback: LoopbackServer
) -> None:
    loopback.route = lambda path: json_reply(rq.searchset())
    app = _app(ehr, tmp_path)  # allows fhir.test.example only
    port = int(loopback.base.rsplit(":", 1)[1])
    for target in _ssrf_targets(port):
        body = rq.patient_view(fhirServer=target)
        del body["prefetch"]
        response = app.test_client().post(PV, json=body, headers=ehr.headers(PV))
        assert response.status_code in (400, 412), target
    assert loopback.hits == []


def test_allowed_host_on_another_port_is_never_contacted(
    ehr: Ehr, tmp_path: Any, loopback: LoopbackServer
) -> None:
    app = _app(ehr, tmp_path, FHIR_ALLOWED_HOSTS=["127.0.0.1:1"])
    body = rq.patient_view(fhirServer=loopback.base)
    del body["prefetch"]
    assert app.test_client().post(PV, json=body, headers=ehr.headers(PV)).status_code == 412
    assert loopback.hits == []


def test_allowed_loopback_host_is_contacted(
    ehr: Ehr, tmp_path: Any, loopback: LoopbackServer
) -> None:
    # Control for the two tests above: the same call with the host allowed does reach it.
    loopback.route = lambda path: json_reply(rq.searchset())
    app = _app(ehr, tmp_path, FHIR_ALLOWED_HOSTS=["127.0.0.1"])
    body = rq.patient_view(fhirServer=loopback.base)
    del body["prefetch"]
    app.test_client().post(PV, json=body, headers=ehr.headers(PV))
    assert loopback.hits


# --------------------------------------------------------------------------- SSRF: jku

JKU_ISSUER = "https://jku-ehr.test.example"


def _jku_token(key: Any, jku: str, kid: str) -> str:
    now = int(time.time())
    claims = {
        "iss": JKU_ISSUER,
        "aud": BASE_URL + PV,
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(claims, key, algorithm="ES384", headers={"kid": kid, "jku": jku})


@pytest.fixture
def jwks_server(ehr: Ehr) -> Iterator[LoopbackServer]:
    with LoopbackServer(lambda path: json_reply(ehr.jwks)) as server:
        yield server


def _jku_app(ehr: Ehr, tmp_path: Any, jwks_server: LoopbackServer) -> Flask:
    issuers = {
        EHR_ISSUER: {"jwks": ehr.jwks, "algorithms": ["ES384"]},
        JKU_ISSUER: {"jku": [jwks_server.base + "/jwks.json"], "algorithms": ["ES384"]},
    }
    return _app(ehr, tmp_path, TRUSTED_ISSUERS=issuers)


def test_unlisted_jku_is_never_fetched(
    ehr: Ehr, tmp_path: Any, jwks_server: LoopbackServer, attacker: LoopbackServer
) -> None:
    forged = ec.generate_private_key(ec.SECP384R1())
    token = _jku_token(forged, attacker.base + "/jwks.json", "attacker-key")
    app = _jku_app(ehr, tmp_path, jwks_server)
    response = app.test_client().post(
        PV, json=rq.patient_view(), headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
    assert attacker.hits == []
    assert jwks_server.hits == []


def test_listed_jku_is_fetched_and_trusted(
    ehr: Ehr, tmp_path: Any, jwks_server: LoopbackServer
) -> None:
    # Control: the listed URL is fetched, so the zero hits above are the refusal, not a setup slip.
    token = _jku_token(ehr.key, jwks_server.base + "/jwks.json", ehr.jwks["keys"][0]["kid"])
    app = _jku_app(ehr, tmp_path, jwks_server)
    response = app.test_client().post(
        PV, json=rq.patient_view(), headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    assert jwks_server.hits == ["/jwks.json"]
