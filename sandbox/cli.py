"""``python -m sandbox``: list the scenarios, play the EHR against the service, serve local FHIR."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any, TextIO

import requests

from sandbox import ehr

DESCRIPTION = (
    "Sandbox EHR for the B-ALL CDS service: list the scenarios, call the service as an EHR "
    "would, or serve the local FHIR R4 + SMART endpoint (a development and test tool)."
)
_COLOURS = {"critical": "\033[1;31m", "warning": "\033[1;33m", "info": "\033[1;36m"}
_RESET = "\033[0m"
_INDENT = "    "


def main(
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
    session: requests.Session | None = None,
    today: date | None = None,
    patients: ehr.PatientSource | None = None,
    scenarios: Callable[[], Sequence[Any]] | None = None,
) -> int:
    """Run the CLI; return the process exit code.

    ``session``, ``today``, ``patients`` and ``scenarios`` (a ``load_scenarios``) are for tests.
    """
    args = _parser().parse_args(argv)
    out = out or sys.stdout
    load = scenarios or _load_scenarios
    try:
        if args.command == "list":
            return _list(out, load())
        if args.command == "fhir-server":
            return _serve(args, out)
        if args.command == "token":
            print(ehr.sign_jwt(args.audience), file=out)
            return 0
        scenario = _scenario_for(load(), args.patient, args.hook)
        return _call(
            args, scenario, out, session or requests.Session(), today or date.today(), patients
        )
    except ehr.SandboxError as exc:
        print(f"error: {exc}", file=out)
        return 2
    except requests.RequestException as exc:
        print(f"error: {type(exc).__name__} talking to {args.url}", file=out)
        return 2


def _load_scenarios() -> Sequence[Any]:
    try:
        from sandbox.scenarios import load_scenarios
    except ImportError:
        return []
    return load_scenarios()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the sandbox scenarios and the steps they expect")
    call = commands.add_parser("call", help="call the CDS service as an EHR would")
    call.add_argument("patient", metavar="PATIENT")
    call.add_argument("--hook", choices=ehr.HOOKS)
    call.add_argument("--draft", metavar="NAME", help="draft orders: sandbox/drafts/NAME.json")
    call.add_argument("--no-prefetch", action="store_true", help="let the service fetch")
    call.add_argument("--url", default=ehr.DEFAULT_SERVICE_URL, help="CDS service base URL")
    call.add_argument("--fhir-url", default=ehr.DEFAULT_FHIR_URL, help="FHIR server to announce")
    call.add_argument("--json", action="store_true", help="print the raw response")
    token = commands.add_parser(
        "token", help="print a dev-EHR JWT for one URL (e.g. to curl the local service)"
    )
    token.add_argument("audience", metavar="URL", help="the exact URL the token is for")
    serve = commands.add_parser("fhir-server", help="serve the local FHIR R4 + SMART endpoint")
    serve.add_argument("--port", type=int, default=8081)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--latency-ms", type=int, default=0, help="delay every request")
    serve.add_argument(
        "--client",
        action="append",
        metavar="ID[:SECRET]",
        help="register a SMART client (repeatable; default: any client id, public)",
    )
    return parser


def _list(out: TextIO, scenarios: Sequence[Any]) -> int:
    if not scenarios:
        raise ehr.SandboxError("no scenarios found (sandbox/scenarios.py)")
    for scenario in scenarios:
        drafts = f" drafts={scenario.drafts}" if scenario.drafts else ""
        expect = ", ".join(scenario.expect) or "(no cards)"
        print(f"{scenario.patient:<28} {scenario.hook:<13}{drafts}".rstrip(), file=out)
        print(f"{_INDENT}expect: {expect}", file=out)
        if scenario.note:
            print(f"{_INDENT}{scenario.note}", file=out)
    return 0


def _serve(args: argparse.Namespace, out: TextIO) -> int:
    from werkzeug.serving import run_simple

    from sandbox.fhir_server import create_fhir_app

    clients = None
    if args.client:
        clients = {
            cid: (secret or None) for cid, _, secret in (c.partition(":") for c in args.client)
        }
    app = create_fhir_app(latency_ms=args.latency_ms, clients=clients)
    print(
        f"Local FHIR R4 + SMART endpoint on http://{args.host}:{args.port} "
        "(a development and test tool, not a FHIR server)",
        file=out,
    )
    run_simple(args.host, args.port, app, threaded=True)
    return 0


def _call(
    args: argparse.Namespace,
    scenario: Any,
    out: TextIO,
    session: requests.Session,
    today: date,
    patients: ehr.PatientSource | None,
) -> int:
    hook = args.hook or (scenario.hook if scenario else "patient-view")
    try:
        services = ehr.discover(session, args.url)
    except requests.ConnectionError:
        raise ehr.SandboxError(
            f"the CDS service is not reachable at {args.url} (start it with `make run`)"
        ) from None
    except requests.HTTPError as exc:
        return _print_http_error(exc.response, out)
    service = ehr.service_for_hook(services, hook)
    if args.no_prefetch:
        _require_fhir_server(session, args.fhir_url)
    body = ehr.build_request(
        scenario or args.patient,
        hook,
        today,
        fhir_url=args.fhir_url,
        prefetch=not args.no_prefetch,
        draft=args.draft,
        templates=service.get("prefetch") or {},
        patients=patients,
    )
    response = ehr.call_service(session, args.url, service["id"], body)
    if not response.ok:
        return _print_http_error(response, out)
    payload = response.json()
    text = json.dumps(payload, indent=2) if args.json else format_cards(payload, color=out.isatty())
    print(text, file=out)
    return 0


def _scenario_for(scenarios: Sequence[Any], patient: str, hook: str | None) -> Any:
    # The first scenario of this patient (and hook) supplies the drafts and selections.
    matching = (s for s in scenarios if s.patient == patient and hook in (None, s.hook))
    return next(matching, None)


def _require_fhir_server(session: requests.Session, fhir_url: str) -> None:
    # Without prefetch the service reads from here; fail now with a clear message, not a 412.
    try:
        session.get(f"{fhir_url.rstrip('/')}/metadata", timeout=ehr.TIMEOUT_SECONDS)
    except requests.ConnectionError:
        raise ehr.SandboxError(
            f"--no-prefetch: the local FHIR endpoint is not reachable at {fhir_url}; "
            "start it with `python -m sandbox fhir-server`"
        ) from None


def _print_http_error(response: requests.Response | None, out: TextIO) -> int:
    if response is None:
        print("error: no response", file=out)
        return 1
    print(f"HTTP {response.status_code} from {response.url}", file=out)
    try:
        print(json.dumps(response.json(), indent=2), file=out)
    except ValueError:
        print(response.text[:2000], file=out)
    return 1


def format_cards(response: Mapping[str, Any], *, color: bool = False) -> str:
    """Render a CDS Hooks response for a terminal: tag, summary, detail, suggestions, links."""
    cards = response.get("cards", [])
    if not cards:
        return "No cards."
    return "\n\n".join(_format_card(card, color) for card in cards)


def _format_card(card: Mapping[str, Any], color: bool) -> str:
    indicator = str(card.get("indicator", "info"))
    tag = f"[{indicator.upper()}]"
    if color:
        tag = f"{_COLOURS.get(indicator, '')}{tag}{_RESET}"
    lines = [f"{tag} {card.get('summary', '')}"]
    topic = card.get("source", {}).get("topic", {})
    source = card.get("source", {}).get("label", "")
    lines.append(
        f"{_INDENT}source: {source}" + (f" · step {topic['code']}" if "code" in topic else "")
    )
    if card.get("detail"):
        lines.append("")
        lines.extend(f"{_INDENT}{line}".rstrip() for line in str(card["detail"]).splitlines())
    if card.get("suggestions"):
        lines.append(f"{_INDENT}suggestions ({card.get('selectionBehavior', 'any')}):")
        lines.extend(_format_suggestion(s) for s in card["suggestions"])
    if card.get("links"):
        lines.append(f"{_INDENT}links:")
        for link in card["links"]:
            lines.append(
                f"{_INDENT}  - {link.get('label')} <{link.get('url')}> ({link.get('type')})"
            )
    return "\n".join(lines)


def _format_suggestion(suggestion: Mapping[str, Any]) -> str:
    actions = []
    for action in suggestion.get("actions", []):
        target = action.get("resource", {}).get("resourceType") or action.get("resourceId", "")
        actions.append(f"{action.get('type')} {target}".strip())
    star = " (recommended)" if suggestion.get("isRecommended") else ""
    return f"{_INDENT}  - {suggestion.get('label')}{star}: {'; '.join(actions)}"
