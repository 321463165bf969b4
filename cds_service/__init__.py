"""B-ALL pathway CDS Hooks service. ``create_app`` is the only way to make the Flask app."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the pure packages under cds_service must not pull Flask in at import time
    from flask import Flask

__all__ = ["create_app"]

log = logging.getLogger("cds_service")


def create_app(
    config: Mapping[str, Any] | None = None,
    *,
    today: Callable[[], date] | None = None,
    new_uuid: Callable[[], str] | None = None,
) -> Flask:
    """Build the app: settings, knowledge, trust, FHIR fetcher, feedback store, blueprints.

    ``config`` overrides defaults and ``CDS_*`` variables (tests); ``today`` and ``new_uuid`` make
    responses deterministic in tests.
    """
    from flask import Flask

    from cds_service import api, cors, errors_http, openapi, requestlog
    from cds_service.config import load_config
    from cds_service.logs import configure_logging
    from cds_service.runtime import build_runtime

    settings = load_config(os.environ, config)
    configure_logging(settings["LOG_LEVEL"])
    app = Flask(__name__)
    app.config.update(settings)
    app.config["MAX_CONTENT_LENGTH"] = settings["MAX_REQUEST_BYTES"]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["cds"] = build_runtime(
        settings, today=today or date.today, new_uuid=new_uuid or (lambda: str(uuid.uuid4()))
    )
    errors_http.init_app(app)
    cors.init_app(app, settings["CORS_ORIGINS"])
    requestlog.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(openapi.bp)
    if settings["SMART_CLIENT_ID"]:
        from cds_service.smart import views as smart_views

        smart_views.init_app(app, settings)
    if settings["AUTH"] == "off":
        log.warning("auth_disabled", extra={"event": "auth_disabled"})
    log.info(
        "service_started",
        extra={
            "event": "service_started",
            "profile": settings["PROFILE"] or "default",
            "knowledge_version": app.extensions["cds"].knowledge.version,
        },
    )
    return app
