"""What a log line may say about an error: its type and where it was raised, never
its message.

Error messages carry values: SQLAlchemy quotes a statement's parameters, the
drivers add ``DETAIL: Key (value)=(9199...) already exists``, pydantic quotes
the input, ``int()`` quotes the text it could not read. The server's log must
hold no identifier, name or PSI value, so an exception is logged as its class,
the database's error code and the names of the constraint, table and column it
concerns (schema names, not data), and its traceback's frames (file, line,
code), never its text. The one exception is a connection failure of the
PostgreSQL driver (no SQLSTATE: the server was never reached), whose text names
only a host and a port.

``RedactingFilter`` applies this to every record that reaches a handler it is
attached to: exceptions given as arguments and the exception of ``exc_info``.
``eventrail serve`` and ``eventrail process`` attach it to every handler
(:func:`log_config`), whose lines are uvicorn's human-readable ones or, with
``EVENTRAIL_LOG_FORMAT=json``, one JSON object each (:class:`JsonFormatter`).
"""

from __future__ import annotations

import copy
import logging
import sqlite3
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

import orjson

# The logger of the access lines (kit/accesslog.py), whose records carry their fields.
ACCESS_LOGGER = "eventrail.access"

_MAX_CHAIN = 5


def describe(exc: BaseException) -> str:
    """``Type (SQLSTATE 23505, constraint uq_x, table t)``: safe to log."""
    kind = type(exc)
    name = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
    details: list[str] = []
    orig = getattr(exc, "orig", None)  # SQLAlchemy's DBAPIError wraps the driver's error
    if isinstance(orig, BaseException):
        return f"{name} from {describe(orig)}"
    psycopg = sys.modules.get("psycopg")  # not loaded: not one of its errors
    if psycopg is not None and isinstance(exc, psycopg.Error):
        if exc.sqlstate:
            details.append(f"SQLSTATE {exc.sqlstate}")
            diag = exc.diag
            for label, value in (
                ("constraint", diag.constraint_name),
                ("table", diag.table_name),
                ("column", diag.column_name),
            ):
                if value:
                    details.append(f"{label} {value}")
        elif isinstance(exc, psycopg.OperationalError):
            details.append(str(exc).strip().splitlines()[0] if str(exc).strip() else "")
    elif isinstance(exc, sqlite3.Error):
        errorname = getattr(exc, "sqlite_errorname", None)
        if errorname:
            details.append(errorname)
    details = [d for d in details if d]
    return f"{name} ({', '.join(details)})" if details else name


def safe_traceback(exc: BaseException) -> str:
    """The traceback of ``exc`` and of its causes, each exception shown by :func:`describe`."""
    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    link = ""
    while current is not None and id(current) not in seen and len(chain) < _MAX_CHAIN:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, "The above exception was the direct cause of"
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, "During handling of the above exception"
        else:
            current = None
    parts: list[str] = []
    for error, link in reversed(chain):
        frames = traceback.format_list(traceback.extract_tb(error.__traceback__))
        parts.append("Traceback (most recent call last):\n" + "".join(frames) + describe(error))
        if link:
            parts.append(f"\n{link} the following exception:\n")
    return "\n".join(parts)


class RedactingFilter(logging.Filter):
    """Replaces what a record says of an exception: :func:`describe`, :func:`safe_traceback`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, BaseException):
            record.msg = describe(record.msg)
        if isinstance(record.args, tuple) and any(
            isinstance(arg, BaseException) for arg in record.args
        ):
            record.args = tuple(
                describe(arg) if isinstance(arg, BaseException) else arg for arg in record.args
            )
        if record.exc_info and record.exc_info[1] is not None:
            # Set before any formatter runs, so none renders the original text.
            record.exc_text = safe_traceback(record.exc_info[1])
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (UTC), ``level``, ``logger``, ``message``;
    an access line (:mod:`eventrail.kit.accesslog`) has its fields instead of a
    message; an error adds ``exception``, the traceback :class:`RedactingFilter`
    rendered (never the exception's own text)."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
        }
        if isinstance(record.args, dict) and record.name == ACCESS_LOGGER:
            document.update(record.args)
        else:
            document["message"] = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            document["exception"] = record.exc_text or safe_traceback(record.exc_info[1])
        if record.stack_info:
            document["stack"] = record.stack_info
        return orjson.dumps(document, default=str).decode()


LOG_FORMATS = ("text", "json")


def log_config(level: str, log_format: str = "text") -> dict[str, Any]:
    """Uvicorn's logging configuration with :class:`RedactingFilter` on every handler,
    and the ``eventrail`` loggers written by the same handler as the server's own.

    ``log_format`` ``json``: every handler (uvicorn's access handler included)
    writes :class:`JsonFormatter` lines, and so does the root logger's handler
    that catches any other library's records, so that every line on stderr and
    stdout is one JSON object. ``text`` keeps uvicorn's human-readable lines.
    """
    from uvicorn.config import LOGGING_CONFIG

    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact"] = {"()": f"{__name__}.RedactingFilter"}
    if log_format == "json":
        config["formatters"] = {"json": {"()": f"{__name__}.JsonFormatter"}}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact")
        if log_format == "json":
            handler["formatter"] = "json"
    config["loggers"]["eventrail"] = {
        "handlers": ["default"],
        "level": level.upper(),
        "propagate": False,
    }
    # Any other library's records (warnings and worse) through the same handler,
    # rather than Python's last-resort handler, which neither filters nor formats.
    config["root"] = {"handlers": ["default"], "level": "WARNING"}
    return config
