"""``python -m bench``: the service against the bare-decode floor and the naive validator.

See bench/README.md for what is measured, the targets and the latest figures.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from bench import harness, report


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the table and verdicts, write the JSON; 0 if every target is met."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short smoke run (small charts)")
    args = parser.parse_args(argv)
    plan = harness.QUICK if args.quick else harness.FULL
    started = datetime.now(UTC)
    outcome = harness.run(plan, date.today(), progress=lambda line: print(line, flush=True))
    phases = outcome["phases"]
    rss = {int(pid): mb for pid, mb in outcome["servers"]["service"]["peak_rss_mb"].items()}
    checks = report.targets(phases, rss)
    result: dict[str, Any] = {
        "date": started.isoformat(timespec="seconds"),
        "command": "python -m bench" + (" --quick" if args.quick else ""),
        "machine": report.machine(),
        "plan": vars(plan) if hasattr(plan, "__dict__") else str(plan),
        "servers": outcome["servers"],
        "jwt_sign_ms_per_token": outcome["jwt_sign_ms_per_token"],
        "phases": [phase.row() for phase in phases],
        "ratios": report.ratios(phases),
        "targets": checks,
    }
    print()
    print(report.table(phases))
    _print_summary(result)
    path = report.write_json(result)
    print(f"\nwritten: {path}")
    return 0 if all(check["met"] for check in checks) else 1


def _print_summary(result: dict[str, Any]) -> None:
    print("\nratios (service vs baselines):")
    for row in result["ratios"]:
        print("  " + json.dumps(row))
    print("\nservers:")
    for name, figures in result["servers"].items():
        print(f"  {name:<8} {json.dumps(figures)}")
    print(f"\nJWT signing (client side, not timed): {result['jwt_sign_ms_per_token']} ms/token")
    print("\ntargets:")
    for check in result["targets"]:
        verdict = {True: "MET", False: "MISSED", None: "n/a"}[check["met"]]
        print(f"  {verdict:<7} {check['target']}: {check['value']} (limit {check['limit']})")


if __name__ == "__main__":
    sys.exit(main())
