"""JSON log lines: parseable, carry extra fields, and never an exception's message."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from cds_service.errors import ConfigError
from cds_service.logs import JsonFormatter, configure_logging

SECRET = "Jane Doe MRN 12345"  # stands in for PHI that must never reach a log line


@pytest.fixture(autouse=True)
def _restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def record(msg: str = "request", *, exc: bool = False, **extra: Any) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError(f"bad value for {SECRET}")
        except ValueError:
            exc_info = sys.exc_info()
    made = logging.LogRecord("cds_service.test", logging.ERROR, __file__, 1, msg, (), exc_info)
    made.__dict__.update(extra)
    made.created = 1772445600.25  # 2026-03-02T10:00:00.250Z
    return made


def formatted(made: logging.LogRecord) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(JsonFormatter().format(made))
    return parsed


def test_a_log_line_is_one_json_object_with_the_base_fields() -> None:
    assert formatted(record("service_started")) == {
        "ts": "2026-03-02T10:00:00.250Z",
        "level": "ERROR",
        "logger": "cds_service.test",
        "msg": "service_started",
    }


def test_extra_fields_become_top_level_keys() -> None:
    line = formatted(record(event="request", status=200, steps=["IND-START"]))
    assert (line["event"], line["status"], line["steps"]) == ("request", 200, ["IND-START"])


def test_values_json_cannot_encode_are_written_as_text() -> None:
    assert formatted(record(path=object()))["path"].startswith("<object object")


def test_a_log_line_has_no_newline_inside() -> None:
    assert "\n" not in JsonFormatter().format(record("two\nlines", exc=True))


def test_an_exception_is_logged_by_type_and_frames() -> None:
    line = formatted(record("unhandled_error", exc=True))
    assert line["exc_type"] == "ValueError"
    assert line["exc_frames"][-1].startswith("tests/unit/test_logs.py:")
    assert line["exc_frames"][-1].endswith(" record")


def test_an_exception_message_is_never_logged() -> None:
    assert SECRET not in JsonFormatter().format(record("unhandled_error", exc=True))


def test_a_library_exception_type_is_qualified_by_its_module() -> None:
    try:
        json.loads("{")
    except json.JSONDecodeError:
        made = logging.LogRecord("x", logging.ERROR, __file__, 1, "m", (), sys.exc_info())
    assert formatted(made)["exc_type"] == "json.decoder.JSONDecodeError"


def test_configuring_twice_installs_one_handler() -> None:
    configure_logging("INFO")
    configure_logging("DEBUG")
    ours = [h for h in logging.getLogger().handlers if isinstance(h.formatter, JsonFormatter)]
    assert len(ours) == 1


def test_configuring_sets_the_root_level() -> None:
    configure_logging("warning")
    assert logging.getLogger().level == logging.WARNING


def test_an_unknown_level_is_refused() -> None:
    with pytest.raises(ConfigError):
        configure_logging("LOUD")


def test_configured_logging_writes_json_lines_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    logging.getLogger("cds_service.access").info("request", extra={"event": "request", "ms": 3})
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert (line["logger"], line["msg"], line["event"], line["ms"]) == (
        "cds_service.access",
        "request",
        "request",
        3,
    )


def test_records_below_the_level_are_not_written(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("WARNING")
    logging.getLogger("cds_service.access").info("request")
    assert capsys.readouterr().err == ""
