"""The SMART pathway viewer in a real browser: an EHR launch against the sandbox FHIR + SMART app.

Headless Debian chromium presses the sandbox EHR's launch button; the browser follows every redirect
itself (``/launch`` → our ``/smart/launch`` → ``/auth/authorize`` → ``/smart/callback`` →
``/smart/app``), carrying our session cookie, and the tests read the page it rendered.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from tests.browser.viewer_flow import (
    Servers,
    chromium_context,
    find_chromium,
    open_viewer,
    running_servers,
    service_settings,
)

if find_chromium() is None:
    pytest.skip("chromium not installed (apt-get install chromium)", allow_module_level=True)

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
# patient → (position step per sandbox/scenarios.toml, step code the card passes as appContext)
LAUNCHES = {
    "induction-standard-risk": ("induction", "induction"),
    "relapse-mrd-positive": ("relapse-mrd-positive", "relapse-mrd-positive"),
    "consolidation-standard-risk-blinatumomab": (
        "consolidation-mrd-negative",
        "standard-risk-blinatumomab",
    ),
}
ON_MAP = ["induction-standard-risk", "relapse-mrd-positive"]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    with running_servers(tmp_path_factory.mktemp("viewer-servers")) as running:
        yield running


@pytest.fixture(scope="module")
def pages(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Launch the viewer once per patient; keep each rendered page and save its screenshot."""
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium_context(tmp_path_factory.mktemp("chromium-profile")) as context:
        opened = {}
        for patient, (_, card_step) in LAUNCHES.items():
            page = open_viewer(context, servers, patient, card_step)
            page.screenshot(path=str(ARTIFACTS / f"viewer-{patient}.png"), full_page=True)
            opened[patient] = page
        yield opened


@pytest.mark.parametrize("patient", list(LAUNCHES))
def test_the_map_highlights_only_the_childs_position_step(
    pages: dict[str, Any], patient: str
) -> None:
    position, _ = LAUNCHES[patient]
    current = pages[patient].locator("svg.pathway g.step.current")
    assert current.count() == 1
    assert current.get_attribute("data-step") == position


@pytest.mark.parametrize("patient", list(LAUNCHES))
def test_the_current_step_box_names_the_position(
    pages: dict[str, Any], servers: Servers, patient: str
) -> None:
    position, _ = LAUNCHES[patient]
    box = pages[patient].locator("#current-step")
    assert box.get_attribute("data-step") == position
    assert f"Current step: {servers.displays[position]}" in box.inner_text()


@pytest.mark.parametrize("patient", ON_MAP)
def test_the_cards_step_from_app_context_is_outlined_on_the_map(
    pages: dict[str, Any], patient: str
) -> None:
    _, card_step = LAUNCHES[patient]
    outlined = pages[patient].locator("svg.pathway g.step.from-card")
    assert outlined.count() == 1
    assert outlined.get_attribute("data-step") == card_step


def test_a_card_step_off_the_map_is_outlined_among_the_open_gaps(pages: dict[str, Any]) -> None:
    page = pages["consolidation-standard-risk-blinatumomab"]
    assert page.locator("svg.pathway g.step.from-card").count() == 0
    gap = page.locator(".gap.from-card")
    assert gap.get_attribute("data-step") == "standard-risk-blinatumomab"
    assert "outlined under Open gaps" in page.locator("#from-card").inner_text()


@pytest.mark.parametrize("patient", ON_MAP)
def test_the_facts_table_cites_the_patients_own_resources(
    pages: dict[str, Any], patient: str
) -> None:
    page = pages[patient]
    assert page.locator("table tr").count() >= 10
    sources = page.locator("table .source").all_inner_texts()
    assert f"Patient/{patient}" in sources
    assert all(patient in source for source in sources)


@pytest.mark.parametrize("patient", ON_MAP)
def test_the_footer_shows_the_knowledge_version(
    pages: dict[str, Any], servers: Servers, patient: str
) -> None:
    footer = pages[patient].locator("footer").inner_text()
    assert f"Pathway knowledge {servers.knowledge_version}." in footer


def test_the_browser_holds_only_a_signed_session_id_never_the_token(
    pages: dict[str, Any],
) -> None:
    cookies = pages["induction-standard-risk"].context.cookies()
    assert [c["name"] for c in cookies] == ["b_all_viewer"]
    assert cookies[0]["httpOnly"] is True
    signer = SecureCookieSessionInterface().get_signing_serializer(_keyed_app())
    assert signer is not None
    assert set(signer.loads(cookies[0]["value"])) == {"viewer"}


def _keyed_app() -> Flask:
    app = Flask(__name__)
    app.secret_key = service_settings("http://unused", Path("unused"))["SECRET_KEY"]
    return app
