"""Command line: ``serve`` (what ``make run`` calls) and ``feedback-report``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from cds_service.errors import ConfigError


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the command; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m cds_service")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the CDS Hooks service")
    serve.add_argument("--host", help="listen address (default CDS_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default CDS_PORT or 8080)")
    serve.add_argument("--profile", choices=["local"], help="embedded local-testing defaults")
    serve.add_argument("--threads", type=int, default=8, help="worker threads (default 8)")
    report = commands.add_parser("feedback-report", help="accepted/overridden rates per step")
    report.add_argument("--profile", choices=["local"], help="read the local profile's store")
    args = parser.parse_args(argv)
    overrides = {k.upper(): v for k, v in vars(args).items() if k in ("host", "port", "profile")}
    overrides = {k: v for k, v in overrides.items() if v is not None}
    try:
        if args.command == "serve":
            return _serve(overrides, args.threads)
        return _report(overrides)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2


def _serve(overrides: dict[str, Any], threads: int) -> int:
    from gunicorn.app.base import BaseApplication

    from cds_service import create_app
    from cds_service.gunicorn_conf import post_worker_init

    app = create_app(overrides)
    bind = f"{app.config['HOST']}:{app.config['PORT']}"

    class _Server(BaseApplication):  # type: ignore[misc]
        # One process with threads: the in-process jti replay cache then sees every request.
        def load_config(self) -> None:
            self.cfg.set("bind", bind)
            self.cfg.set("workers", 1)
            self.cfg.set("threads", threads)
            self.cfg.set("post_worker_init", post_worker_init)
            self.cfg.set("accesslog", None)

        def load(self) -> Any:
            return app

    print(f"B-ALL CDS service on http://{bind}/cds-services", file=sys.stderr)
    _Server().run()
    return 0


def _report(overrides: dict[str, Any]) -> int:
    from cds_service.config import load_config
    from cds_service.feedback import FeedbackStore, render_report

    settings = load_config(os.environ, overrides)
    if not settings["DATABASE_URL"]:
        print("no feedback store configured (set CDS_DATABASE_URL or --profile local)")
        return 2
    print(render_report(FeedbackStore(settings["DATABASE_URL"]).report()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
