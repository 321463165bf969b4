"""Gunicorn settings for production: ``gunicorn -c python:cds_service.gunicorn_conf ...``.

After a worker has built the app, move everything alive into the permanent GC generation: the
knowledge, models and JSON Schemas are never freed, and without this every full collection
triggered by a large request body re-walks them (a 50-80 ms pause every few calls; bench/README).
"""

from __future__ import annotations

import gc
from typing import Any

worker_class = "gthread"
threads = 4


def post_worker_init(worker: Any) -> None:
    """Freeze the start-up objects once the worker's app exists."""
    gc.collect()
    gc.freeze()
