"""Structured logging: one JSON object per line on stderr, ids and timings only — never PHI.

Every field a caller passes in ``extra=`` becomes a top-level key. Exceptions are written as the
exception class and the traceback's file:line frames only: an exception message (or a local
variable) may quote a patient's data, and a log line must never carry it (DESIGN.md "Errors").
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from cds_service.errors import ConfigError

_PROJECT_DIR = str(Path(__file__).resolve().parent.parent) + "/"
# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_FIELDS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON line: ts, level, logger, msg, extra fields, exception frames."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as a single-line JSON object."""
        line: dict[str, Any] = {
            "ts": _utc_iso(record.created),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RECORD_FIELDS and key not in line:
                line[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            exc_type, _, tb = record.exc_info
            line["exc_type"] = _type_name(exc_type)
            line["exc_frames"] = [_frame(f) for f in traceback.extract_tb(tb)]
        return json.dumps(line, default=str, ensure_ascii=False)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Write to whatever ``sys.stderr`` is at emit time (survives test capture swapping it)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass  # StreamHandler.__init__ assigns it; the property always answers sys.stderr


def configure_logging(level: str) -> None:
    """Install the JSON stderr handler on the root logger once and set the level."""
    name = level.strip().upper()
    if name not in _LEVELS:
        raise ConfigError(f"CDS_LOG_LEVEL must be one of {', '.join(_LEVELS)}")
    root = logging.getLogger()
    if not any(isinstance(handler, _StderrHandler) for handler in root.handlers):
        handler = _StderrHandler()
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    root.setLevel(name)


def _utc_iso(created: float) -> str:
    moment = datetime.fromtimestamp(created, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _type_name(exc_type: type[BaseException]) -> str:
    module = exc_type.__module__
    return exc_type.__qualname__ if module == "builtins" else f"{module}.{exc_type.__qualname__}"


def _frame(frame: traceback.FrameSummary) -> str:
    # Paths inside the project are shortened; no source line, no locals.
    filename = frame.filename
    if "site-packages/" in filename:
        filename = filename.split("site-packages/", 1)[1]
    elif filename.startswith(_PROJECT_DIR):
        filename = filename[len(_PROJECT_DIR) :]
    return f"{filename}:{frame.lineno} {frame.name}"
