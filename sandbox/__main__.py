"""Entry point of ``python -m sandbox``."""

from __future__ import annotations

from sandbox.cli import main

raise SystemExit(main())
