"""Serve the sandbox EHR and our service on loopback and drive a real EHR launch in chromium.

Shared by the browser test and the README screenshot (``python -m tests.browser.viewer_flow``).
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from werkzeug.serving import BaseWSGIServer, make_server

from cds_service import create_app
from cds_service.runtime import runtime
from sandbox.fhir_server import create_fhir_app

TODAY = date(2026, 3, 2)
CLIENT_ID = "b-all-viewer"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Loopback only: never let a proxy setting send the launch elsewhere.
    "--no-proxy-server",
]
# Each navigation is local; a stuck one must fail the test quickly, not hang it.
STEP_TIMEOUT_MS = 10_000
# The README image: a front-line child whose card (a gap) opened the viewer.
README_LAUNCH = ("consolidation-standard-risk-blinatumomab", "standard-risk-blinatumomab")
README_IMAGE = Path("sandbox/docs/pathway-viewer.png")


def find_chromium() -> str | None:
    """Return the path of Debian's chromium, or None when it is not installed."""
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


@dataclass(frozen=True)
class Servers:
    fhir_base: str
    service_base: str
    knowledge_version: str
    displays: dict[str, str]

    def launch_url(self, patient: str, step: str) -> str:
        """Return the EHR's launch-button URL that opens our viewer with a card's step."""
        query = urlencode(
            {
                "patient": patient,
                "appContext": json.dumps({"step": step}),
                "app": f"{self.service_base}/smart/launch",
            }
        )
        return f"{self.fhir_base}/launch?{query}"


@contextmanager
def _serving(app: Any) -> Iterator[str]:
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def service_settings(base: str, database: Path) -> dict[str, Any]:
    """Return our service's settings: the viewer on, only the loopback EHR allowed."""
    return {
        "TESTING": True,
        "PUBLIC_BASE_URL": base,
        "DATABASE_URL": f"sqlite:///{database}",
        "FHIR_ALLOWED_HOSTS": ["127.0.0.1"],
        "SMART_CLIENT_ID": CLIENT_ID,
        "SMART_ALLOWED_ISS_HOSTS": ["127.0.0.1"],
        "SECRET_KEY": "browser-test-secret",
    }


@contextmanager
def running_servers(workdir: Path) -> Iterator[Servers]:
    """Run the sandbox FHIR + SMART endpoint and our service, each on a free loopback port."""
    fhir_app = create_fhir_app(today=TODAY, clients={CLIENT_ID: None})
    with _serving(fhir_app) as fhir_base:
        # Our port is only known once bound, and PUBLIC_BASE_URL must name it: bind, then build.
        server: BaseWSGIServer = make_server("127.0.0.1", 0, _Late(), threaded=True)
        base = f"http://127.0.0.1:{server.server_port}"
        settings = service_settings(base, workdir / "feedback.sqlite3")
        app = create_app(settings, today=lambda: TODAY)
        with app.app_context():
            knowledge = runtime().knowledge
        server.app = app
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield Servers(
                fhir_base=fhir_base,
                service_base=base,
                knowledge_version=knowledge.version,
                displays={code: step.display for code, step in knowledge.steps.items()},
            )
        finally:
            server.shutdown()
            thread.join(timeout=5)


class _Late:
    """A placeholder WSGI app, replaced before the server accepts its first request."""

    def __call__(self, environ: Any, start_response: Any) -> Any:
        raise RuntimeError("the service app was not installed")


@contextmanager
def chromium_context(profile: Path, width: int = 900, height: int = 1100) -> Iterator[Any]:
    """Start headless Debian chromium with a fresh profile; yield its browser context."""
    from playwright.sync_api import sync_playwright

    executable = find_chromium()
    if executable is None:
        raise RuntimeError("chromium is not installed")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height},
            timeout=30_000,
        )
        context.set_default_timeout(STEP_TIMEOUT_MS)
        try:
            yield context
        finally:
            context.close()


def open_viewer(context: Any, servers: Servers, patient: str, step: str) -> Any:
    """Press the EHR's launch button for ``patient`` and wait for the rendered viewer."""
    page = context.new_page()
    page.goto(servers.launch_url(patient, step))
    page.wait_for_url(f"{servers.service_base}/smart/app")
    page.wait_for_load_state("load")
    return page


def write_readme_screenshot(target: Path, workdir: Path) -> None:
    """Launch the viewer for a front-line child and save the page as the README image."""
    with running_servers(workdir) as servers, chromium_context(workdir / "profile") as context:
        page = open_viewer(context, servers, *README_LAUNCH)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Down to the card's gap, not the full page: the map and the gap are what the README shows.
        box = page.locator(".gap.from-card").bounding_box()
        width = page.viewport_size["width"]
        clip = {"x": 0, "y": 0, "width": width, "height": box["y"] + box["height"] + 12}
        page.screenshot(path=str(target), clip=clip, full_page=True)


if __name__ == "__main__":
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        write_readme_screenshot(README_IMAGE, Path(tmp))
    sys.stdout.write(f"wrote {README_IMAGE}\n")
