"""CORS for browser clients such as the CDS Hooks Sandbox (CONFORMANCE.md "CORS").

Preflights are answered without a JWT (browsers never send one on OPTIONS) and every response,
errors included, carries the headers: otherwise the browser hides a 401 or 412 as a "CORS error".
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import Flask, Response, request

ALLOW_HEADERS = "Authorization, Content-Type"
ALLOW_METHODS = "GET, POST, OPTIONS"


def init_app(app: Flask, origins: Sequence[str]) -> None:
    """Add CORS headers for the allowed origins (``*`` allows any, without credentials)."""
    allow_any = "*" in origins
    allowed = frozenset(origins)

    @app.after_request
    def _add_headers(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if origin is None or not (allow_any or origin in allowed):
            return response
        response.headers["Access-Control-Allow-Origin"] = "*" if allow_any else origin
        if not allow_any:
            response.vary.add("Origin")
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
            response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
            response.headers["Access-Control-Max-Age"] = "600"
        return response
