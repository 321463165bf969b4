"""The FHIR client: allowed hosts only, no redirects, capped bodies, pages, one deadline."""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import responses

from cds_service.config import load_config
from cds_service.fhir.client import DEFAULT_PAGE_SIZE, FhirFetcher, host_allowed, with_page_size

FHIR = "https://fhir.test.example/r4"
TOKEN = "secret-access-token-123"
FHIR_JSON = {"Content-Type": "application/fhir+json"}


def bundle(*resources: dict[str, Any], next_url: str | None = None) -> dict[str, Any]:
    """Return a searchset Bundle of ``resources``, with a ``next`` link when given."""
    body: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
    }
    if next_url:
        body["link"] = [{"relation": "next", "url": next_url}]
    return body


def condition(cid: str) -> dict[str, Any]:
    return {"resourceType": "Condition", "id": cid}


@pytest.fixture
def fetcher() -> Iterator[FhirFetcher]:
    made = FhirFetcher(allowed_hosts=["fhir.test.example"], timeout=2.0, max_pages=3)
    yield made
    made.close()


@pytest.fixture
def fhir() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def serve(fhir: responses.RequestsMock, path: str, body: Any, status: int = 200) -> None:
    fhir.get(f"{FHIR}/{path}", json=body, status=status, headers=FHIR_JSON)


@pytest.mark.parametrize(
    ("url", "allowed", "expected"),
    [
        ("https://fhir.test.example/r4", ["fhir.test.example"], True),
        ("https://FHIR.test.example/r4", ["fhir.test.example"], True),
        ("http://127.0.0.1:8081/fhir", ["127.0.0.1"], True),
        ("http://127.0.0.1:8081/fhir", ["127.0.0.1:8081"], True),
        ("http://127.0.0.1:8082/fhir", ["127.0.0.1:8081"], False),
        ("http://[::1]:8080/fhir", ["[::1]"], True),
        ("https://evil-fhir.test.example/r4", ["fhir.test.example"], False),
        ("https://fhir.test.example.evil.com/r4", ["fhir.test.example"], False),
        ("ftp://fhir.test.example/r4", ["fhir.test.example"], False),
        ("https://user:pw@fhir.test.example/r4", ["fhir.test.example"], False),
        ("https://fhir.test.example:notaport/r4", ["fhir.test.example"], False),
        ("fhir.test.example/r4", ["fhir.test.example"], False),
    ],
)
def test_host_allowed_only_on_exact_host_or_host_port(
    url: str, allowed: list[str], expected: bool
) -> None:
    assert host_allowed(url, allowed) is expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Observation?patient=p1", "Observation?patient=p1&_count=1000"),
        ("Observation", "Observation?_count=1000"),
        ("Observation?", "Observation?_count=1000"),
        ("Observation?patient=p1&", "Observation?patient=p1&_count=1000"),
        ("Observation?patient=p1&_count=20", "Observation?patient=p1&_count=20"),
        ("Observation?_count=5&patient=p1", "Observation?_count=5&patient=p1"),
        ("Patient/p1", "Patient/p1"),
        ("Practitioner/dr1", "Practitioner/dr1"),
    ],
)
def test_page_size_is_added_to_searches_only(query: str, expected: str) -> None:
    assert with_page_size(query, 1000) == expected


def test_zero_page_size_leaves_the_query_alone() -> None:
    assert with_page_size("Observation?patient=p1", 0) == "Observation?patient=p1"


def test_search_keeps_only_the_template_type(
    fetcher: FhirFetcher, fhir: responses.RequestsMock
) -> None:
    included = {"resourceType": "Patient", "id": "p1"}
    outcome_entry = {"resourceType": "OperationOutcome", "issue": []}
    serve(fhir, "Condition?patient=p1", bundle(condition("c1"), included, outcome_entry))

    result = fetcher.fetch_all(FHIR, TOKEN, {"conditions": "Condition?patient=p1"})

    assert result["conditions"].resources == (condition("c1"),)
    assert result["conditions"].skipped == 2


def test_read_returns_the_one_resource(fetcher: FhirFetcher, fhir: responses.RequestsMock) -> None:
    serve(fhir, "Patient/p1", {"resourceType": "Patient", "id": "p1"})

    result = fetcher.fetch_all(FHIR, TOKEN, {"patient": "Patient/p1"})

    assert result["patient"].resources == ({"resourceType": "Patient", "id": "p1"},)


def test_token_is_sent_as_bearer_with_fhir_accept(
    fetcher: FhirFetcher, fhir: responses.RequestsMock
) -> None:
    serve(fhir, "Condition?patient=p1", bundle())

    fetcher.fetch_all(FHIR, TOKEN, {"conditions": "Condition?patient=p1"})

    headers = fhir.calls[0].request.headers
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["Accept"] == "application/fhir+json"


def test_no_token_sends_no_authorization_header(
    fetcher: FhirFetcher, fhir: responses.RequestsMock
) -> None:
    serve(fhir, "Condition?patient=p1", bundle())

    fetcher.fetch_all(FHIR, None, {"conditions": "Condition?patient=p1"})

    assert "Authorization" not in fhir.calls[0].request.headers


def test_disallowed_host_is_never_contacted(
    fetcher: FhirFetcher, fhir: responses.RequestsMock
) -> None:
    result = fetcher.fetch_all(
        "https://other.example/r4", TOKEN, {"conditions": "Condition?patient=p1"}
    )

    assert result["conditions"].error == "host-not-allowed"
    assert len(fhir.calls) == 0


def test_redirect_is_not_followed(fetcher: FhirFetcher, fhir: responses.RequestsMock) -> None:
    fhir.get(
        f"{FHIR}/Condition?patient=p1",
        status=302,
        headers={"Location": f"{FHIR}/Condition?patient=p2"},
    )
    serve(fhir, "Condition?patient=p2", bundle(condition("c2")))

    result = fetcher.fetch_all(FHIR, TOKEN, {"conditions": "Condition?patient=p1"})

    assert result["conditions"].error == "redirect"
    assert len(fhir.calls) == 1


@pytest.mark.parametrize(
    ("body", "status", "content_type", "reason"),
    [
        ("{not json", 200, "application/fhir+json", "invalid-json"),
        (json.dumps(bundle()), 500, "application/fhir+json", "http-500"),
        (json.dumps(bundle()), 401, "application/fhir+json", "http-401"),
        (json.dumps({"resourceType": "OperationOutcome"}), 200, "application/json", "wrong-type"),
        (json.dumps([1, 2]), 200, "application/json", "wrong-type"),
        (json.dumps(bundle()), 200, "text/html", "content-type"),
    ],
)
def test_unusable_response_is_a_failure(
    fetcher: FhirFetcher,
    fhir: responses.RequestsMock,
    body: str,
    status: int,
    content_type: str,
    reason: str,
) -> None:
    fhir.get(f"{FHIR}/Condition?patient=p1", body=body, status=status, content_type=content_type)

    result = fetcher.fetch_all(FHIR, TOKEN, {"conditions": "Condition?patient=p1"})

    assert result["conditions"].error == reason
    assert result["conditions"].resources == ()


def test_read_of_the_wrong_type_is_a_failure(
    fetcher: FhirFetcher, fhir: responses.RequestsMock
) -> None:
    serve(fhir, "Patient/p1", condition("c1"))

    result = fetcher.fetch_all(FHIR, TOKEN, {"patient": "Patient/p1"})

    assert result["patient"].error == "wrong-type"


def test_next_pages_are_followed_with_the_token(
    fetcher: FhirFetcher, fhir: responses.RequestsMock
) -> None:
    serve(fhir, "Condition?patient=p1", bundle(condition("c1"), next_url=f"{FHIR}/page?n=2"))
    serve(fhir, "page?n=2", bundle(condition("c2")))

    result = fetcher.fetch_all(FHIR, TOKEN, {"conditions": "Condition?patient=p1"})

    assert result["conditions"].resources == (condition("c1"), condition("c2"))
    assert result["conditions"].pages == 2
    assert fhir.calls[1].request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_next_link_to_another_host_is_not_followed(
    fetcher: FhirFetcher, fhir: responses.RequestsMock
) -> None:
    elsewhere = "https://collector.example/steal?n=2"
    serve(fhir, "Condition?patient=p1", bundle(condition("c1"), next_url=elsewhere))
    fhir.get(elsewhere, json=bundle(), headers=FHIR_JSON)

    result = fetcher.fetch_all(FHIR, TOKEN, {"conditions": "Condition?patient=p1"})

    assert result["conditions"].error == "next-off-origin"
    assert [call.request.url for call in fhir.calls] == [f"{FHIR}/Condition?patient=p1"]


def test_page_cap_stops_an_endless_chain(
    fetcher: FhirFetcher, fhir: responses.RequestsMock
) -> None:
    serve(fhir, "Condition?patient=p1", bundle(condition("c0"), next_url=f"{FHIR}/page?n=1"))
    for n in range(1, 6):
        serve(fhir, f"page?n={n}", bundle(condition(f"c{n}"), next_url=f"{FHIR}/page?n={n + 1}"))

    result = fetcher.fetch_all(FHIR, TOKEN, {"conditions": "Condition?patient=p1"})

    assert result["conditions"].error == "page-limit"
    assert len(fhir.calls) == 3  # max_pages


def test_declared_too_large_body_is_refused(fhir: responses.RequestsMock) -> None:
    small = FhirFetcher(allowed_hosts=["fhir.test.example"], max_bytes=100)
    serve(fhir, "Condition?patient=p1", bundle(*[condition(f"c{n}") for n in range(20)]))

    result = small.fetch_all(FHIR, TOKEN, {"conditions": "Condition?patient=p1"})
    small.close()

    assert result["conditions"].error == "too-large"


def test_spent_budget_makes_no_request(fhir: responses.RequestsMock) -> None:
    ticks = itertools.chain([0.0], itertools.repeat(5.0))  # every read after the first is late
    slow = FhirFetcher(allowed_hosts=["fhir.test.example"], timeout=2.0, clock=lambda: next(ticks))
    serve(fhir, "Condition?patient=p1", bundle(condition("c1")))

    result = slow.fetch_all(FHIR, TOKEN, {"conditions": "Condition?patient=p1"})
    slow.close()

    assert result["conditions"].error == "timeout"
    assert len(fhir.calls) == 0


def test_from_settings_reads_the_fhir_settings() -> None:
    settings = load_config(
        environ={},
        overrides={
            "FHIR_ALLOWED_HOSTS": ["fhir.test.example"],
            "FHIR_TIMEOUT_SECONDS": 1.5,
            "FHIR_MAX_PAGES": 4,
            "FHIR_MAX_RESPONSE_BYTES": 1000,
        },
    )

    made = FhirFetcher.from_settings(settings)
    made.close()

    assert (made.allowed_hosts, made.timeout, made.max_pages, made.max_bytes) == (
        ("fhir.test.example",),
        1.5,
        4,
        1000,
    )
    assert made.page_size == DEFAULT_PAGE_SIZE


def test_token_never_reaches_the_logs(
    fetcher: FhirFetcher, fhir: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    serve(fhir, "Condition?patient=p1", bundle(condition("c1")))
    serve(fhir, "Procedure?patient=p1", {}, status=500)
    caplog.set_level(logging.DEBUG)

    fetcher.fetch_all(
        FHIR,
        TOKEN,
        {"conditions": "Condition?patient=p1", "procedures": "Procedure?patient=p1"},
    )

    assert "key=conditions" in caplog.text
    assert "reason=http-500" in caplog.text
    assert TOKEN not in caplog.text


# --- a real loopback server: parallelism, the overall deadline, streamed size cap -------------


class _Handler(BaseHTTPRequestHandler):
    release = threading.Event()

    def do_GET(self) -> None:
        if self.path.startswith("/slow"):
            time.sleep(0.3)
            self._send(json.dumps(bundle(condition("c1"))).encode())
        elif self.path.startswith("/hang"):
            self.release.wait(5)
        elif self.path.startswith("/big"):
            # No Content-Length: the size is only known by reading (HTTP/1.0, body ends at close).
            self._send(b'{"resourceType": "Bundle", "pad": "' + b"x" * 5000 + b'"}')

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def loopback() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    _Handler.release.clear()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    _Handler.release.set()
    server.shutdown()
    server.server_close()
    thread.join()


def test_keys_are_fetched_in_parallel(loopback: str) -> None:
    local = FhirFetcher(allowed_hosts=["127.0.0.1"], timeout=2.0)
    started = time.monotonic()

    queries = {"a": "slow/Condition?n=1", "b": "slow/Condition?n=2"}
    result = local.fetch_all(
        loopback, None, queries, resource_types={"a": "Condition", "b": "Condition"}
    )

    elapsed = time.monotonic() - started
    local.close()
    assert result["a"].ok
    assert result["b"].ok
    assert elapsed < 0.5


def test_hanging_server_costs_no_more_than_the_budget(loopback: str) -> None:
    local = FhirFetcher(allowed_hosts=["127.0.0.1"], timeout=0.4)
    started = time.monotonic()

    result = local.fetch_all(loopback, None, {"a": "hang/Condition", "b": "slow/Condition"})

    elapsed = time.monotonic() - started
    local.close()
    assert result["a"].error == "timeout"
    assert result["b"].ok
    assert elapsed < 0.4 + 0.2


def test_streamed_body_past_the_cap_is_refused(loopback: str) -> None:
    local = FhirFetcher(allowed_hosts=["127.0.0.1"], max_bytes=1000)

    result = local.fetch_all(loopback, None, {"a": "big/Bundle"})

    local.close()
    assert result["a"].error == "too-large"
