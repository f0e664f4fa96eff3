"""One log format for every process: the web (gunicorn's own lines too), the worker (RQ's too), the simulator.

Each line is one event, stamped in UTC (ISO 8601, milliseconds) with the process's role and pid, and with
the job it concerns wherever one is known (``job=<id>``), so ``grep <job id>`` tells a job's story:

    2026-05-01T12:00:00.123Z INFO worker[4242] job=alert-3f2a… executor.joblife: failed: …

``LOG_FORMAT=json`` writes the same fields as one JSON object per line (``time``, ``level``, ``role``,
``pid``, ``logger``, ``job_id``, ``message``), plus the event's own fields (``event``, ``venue``…) where the
product gives them (``extra={"fields": {...}}``), and ``exc_info`` for a bug's traceback.

Every secret the settings hold is masked (``***``) in whatever is written, should one ever reach a line.
"""
from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import datetime, timezone
from typing import Any, Iterable

from config.observability import LOG_FORMATS

#: Marks the handler this module installs, so configuring again replaces it rather than adding another.
_OURS = "_executor_handler"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
MASK = "***"

#: Libraries whose routine lines the product's own replace: only their warnings and errors are written.
QUIET_LOGGERS = ("apprise",)

_role = "process"
_secrets: tuple[str, ...] = ()
_job_id: str | None = None


def set_job(job_id: str | None) -> None:
    """The job this process is working on now (a worker sets it while a job runs; None after)."""
    global _job_id
    _job_id = job_id


def current_job() -> str | None:
    return _job_id


def mask_secrets(texts: Iterable[str]) -> None:
    """Add these texts to what every line is masked of (longest first, so a secret inside another goes too)."""
    global _secrets
    _secrets = tuple(sorted({*_secrets, *(text for text in texts if text)}, key=len, reverse=True))


def redact(text: str) -> str:
    """``text`` with every known secret replaced by ``***``."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def utc_stamp(created: float) -> str:
    return datetime.fromtimestamp(created, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _job_of(record: logging.LogRecord) -> str | None:
    given = getattr(record, "job_id", None)
    return given if isinstance(given, str) else _job_id


def _message(record: logging.LogRecord) -> str:
    message = record.getMessage()
    return _ANSI.sub("", message) if "\x1b" in message else message


class TextFormatter(logging.Formatter):
    """``<UTC time> <LEVEL> <role>[<pid>] [job=<id>] <logger>: <message>``; a bug's traceback follows."""

    def __init__(self, role: str | None = None) -> None:
        super().__init__()
        self.role = role

    def format(self, record: logging.LogRecord) -> str:
        job = _job_of(record)
        line = (f"{utc_stamp(record.created)} {record.levelname} {self.role or _role}[{record.process}] "
                f"{f'job={job} ' if job else ''}{record.name}: {_message(record)}")
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return redact(line)


class JsonFormatter(logging.Formatter):
    """The same fields as ``TextFormatter``, as one JSON object per line."""

    def __init__(self, role: str | None = None) -> None:
        super().__init__()
        self.role = role

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"time": utc_stamp(record.created), "level": record.levelname,
                                 "role": self.role or _role, "pid": record.process, "logger": record.name}
        job = _job_of(record)
        if job:
            entry["job_id"] = job
        entry["message"] = _message(record)
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update({key: value for key, value in fields.items() if key not in entry})
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str, ensure_ascii=False))


def make_formatter(role: str | None = None, log_format: str = "text") -> logging.Formatter:
    """The product's formatter (``text`` or ``json``); also what gunicorn's ``logconfig_dict`` builds."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT: must be one of {', '.join(LOG_FORMATS)}")
    return JsonFormatter(role) if log_format == "json" else TextFormatter(role)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """stderr; a line that finds it closed (the process is ending) is dropped rather than reported."""

    def handleError(self, record: logging.LogRecord) -> None:
        if getattr(self.stream, "closed", False):
            return
        super().handleError(record)


def stderr_handler(role: str, log_format: str = "text") -> logging.Handler:
    """The one handler of a process: stderr, in the product's format, marked as the product's own."""
    handler = _StderrHandler(sys.stderr)
    handler.setFormatter(make_formatter(role, log_format))
    setattr(handler, _OURS, True)
    return handler


def configure_logging(role: str, log_format: str | None = None, level: int = logging.INFO) -> None:
    """Every record of this process through one handler on stderr in the product's format, at ``level``.

    Replaces the handler a previous call (or ``log_config``) installed; handlers others put on the root
    logger stay. Call it before RQ's worker starts: RQ adds handlers of its own (and stops propagation) only
    where it finds none.
    """
    global _role
    _role = role
    if log_format is None:
        from config.observability import load_log_format
        from config.settings import SettingsError

        try:
            log_format = load_log_format(os.environ)
        except ValueError as exc:  # one line naming the variable (exit 3), as every setting
            raise SettingsError(str(exc)) from None
    root = logging.getLogger()
    for handler in [handler for handler in root.handlers if getattr(handler, _OURS, False)]:
        root.removeHandler(handler)
    root.addHandler(stderr_handler(role, log_format))
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def log_config(role: str, log_format: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dictionary giving the same format (gunicorn's ``logconfig_dict``):
    gunicorn's own loggers hand their lines to the root logger's one handler."""
    global _role
    _role = role
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"executor": {"()": "executor.logs.stderr_handler", "role": role, "log_format": log_format}},
        "root": {"level": "INFO", "handlers": ["executor"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
            # No line per request: each webhook request has lines of its own (received, queued, refused).
            "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": True},
            **{name: {"level": "WARNING"} for name in QUIET_LOGGERS},
        },
    }
