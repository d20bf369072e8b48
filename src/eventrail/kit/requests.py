"""What every request must be before an endpoint sees it: its query and its body.

Shared by the fast lane (``kit/asgi.py``) and the guard in front of FastAPI
(``kit/middleware.py``), so both refuse the same things with the same words.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

if TYPE_CHECKING:  # the command line reads values with this module, without the web stack
    from starlette.types import Receive

from eventrail.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

MAX_BODY_BYTES = 1024 * 1024

# -- the values of query parameters: one rule for both transports ------------------------
# FastAPI's routes take them through ``kit.schemas.QUERY_INT``/``QueryBool``, the fast
# lane through ``kit.params.Int``/``Bool``; both call these.
# An integer is ASCII digits with an optional minus sign and nothing else: no
# spaces, "+", "_", "1.0" or "1e3". A boolean is one of these words or digits,
# nothing else: no spaces, no other casing, and an empty value is not false.
TRUE_WORDS = ("true", "True", "TRUE", "1", "yes", "Yes", "YES")
FALSE_WORDS = ("false", "False", "FALSE", "0", "no", "No", "NO")
_INTEGER_TEXT = re.compile(r"-?[0-9]+", re.ASCII)
NOT_AN_INTEGER = "Input should be a valid integer, unable to parse string as an integer"
NOT_A_BOOLEAN = "Input should be a valid boolean: true or false"


class QueryValueError(ValueError):
    """A query parameter's value is refused; ``reason`` says why, without its name."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def integer_text(raw: str) -> int:
    """The integer a query value spells (QueryValueError if none). Past 19 digits,
    where no 64-bit bound can be met (and int() refuses over 4300 digits), it is
    taken as -10**20 or 10**20, so that the bounds refuse it."""
    if not _INTEGER_TEXT.fullmatch(raw):
        raise QueryValueError(NOT_AN_INTEGER)
    if len(raw.lstrip("-").lstrip("0")) <= 19:
        return int(raw)
    return -(10**20) if raw[0] == "-" else 10**20


def query_int(raw: str, low: int, high: int) -> int:
    """The integer a query value spells, within [low, high]; QueryValueError if not."""
    value = integer_text(raw)
    if value < low:
        raise QueryValueError(f"Input should be greater than or equal to {low}")
    if value > high:
        raise QueryValueError(f"Input should be less than or equal to {high}")
    return value


def query_bool(raw: str) -> bool:
    """The boolean a query value spells; QueryValueError if it spells none."""
    if raw in TRUE_WORDS:
        return True
    if raw in FALSE_WORDS:
        return False
    raise QueryValueError(NOT_A_BOOLEAN)


def refuse_query_value(name: str, exc: QueryValueError) -> BadRequest:
    return BadRequest(f"Invalid value for query parameter '{name}': {exc.reason}")


def require_json(content_type: str | None, body: bytes | bool) -> None:
    """415 unless a body is declared JSON (``application/json`` or ``+json``); ``None``
    (no Content-Type at all) is taken as JSON, as webhooks do for foreign senders.
    ``body``: the body, or whether there is one (before it is read)."""
    if not body or content_type is None:
        return
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    ):
        return
    raise UnsupportedMediaType(
        "Unsupported media type: Content-Type must be application/json"
        + (f", not {content_type.split(';')[0]}" if content_type else "")
    )


def parse_query(raw: bytes) -> dict[str, str]:
    """The query's parameters, in one pass; a 400 naming the first that is refused.

    Every query parameter of the API is a single value, so one given twice is
    refused (FastAPI would silently take the last); so is one holding a NUL
    character (no text column of PostgreSQL can hold one) or raw bytes that are
    not UTF-8 (a server hands them on as sent).
    """
    if not raw:
        return {}
    if not raw.isascii():
        _refuse_undecodable(raw)
    text = raw.decode("latin-1")
    if "%" in text or "+" in text:
        pairs = parse_qsl(text, keep_blank_values=True)
    else:  # nothing to unquote (most queries): parse_qsl's pairs, without its calls
        pairs = [
            (name, value) for name, _, value in (p.partition("=") for p in text.split("&") if p)
        ]
    query: dict[str, str] = {}
    for name, value in pairs:
        if "\x00" in name or "\x00" in value:
            raise BadRequest(
                f"Invalid value for query parameter '{name}': contains a NUL character"
            )
        if name in query:
            raise BadRequest(f"Invalid value for query parameter '{name}': given more than once")
        query[name] = value
    if b"\x00" in raw or b"%00" in raw:  # in a part parse_qsl drops
        raise BadRequest("Request query contains a NUL character (%00)")
    return query


def _refuse_undecodable(raw: bytes) -> None:
    try:
        raw.decode("utf-8")
        return
    except UnicodeDecodeError:
        pass
    for part in raw.split(b"&"):
        try:
            part.decode("utf-8")
        except UnicodeDecodeError:
            name = part.split(b"=", 1)[0].decode("utf-8", "replace")
            raise BadRequest(
                f"Invalid value for query parameter '{name}': not valid UTF-8"
            ) from None
    raise BadRequest("Request query is not valid UTF-8")


def _declared_over(content_length: str | bytes | None, limit: int) -> bool:
    """Whether a Content-Length declares more than ``limit`` bytes (or is not a number)."""
    return content_length is not None and (
        not content_length.isdigit()
        or len(content_length) > 12  # int() of a huge number costs; nothing that long fits
        or int(content_length) > limit
    )


def check_declared_length(content_length: str | bytes | None) -> None:
    """413 for a Content-Length over MAX_BODY_BYTES (or not a number), before any
    of the body is read."""
    if _declared_over(content_length, MAX_BODY_BYTES):
        raise PayloadTooLarge()


async def _receive(receive: Receive, bound: int) -> tuple[bytes, bool, bool]:
    """The body's messages until its last one, the client's going away, or more than
    ``bound`` bytes: (what came, whether more than ``bound`` came, whether the client
    went away). Never reads past the message that crossed ``bound``."""
    message = await receive()
    if message["type"] == "http.disconnect":
        return b"", False, True
    first: bytes = message.get("body", b"")
    if not message.get("more_body", False) or len(first) > bound:  # most bodies: one message
        return first, len(first) > bound, False
    chunks = [first]
    size = len(first)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks), False, True
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if size > bound or not message.get("more_body", False):
            return b"".join(chunks), size > bound, False


async def read_body(receive: Receive, content_length: str | bytes | None) -> bytes | None:
    """The whole body, read up to MAX_BODY_BYTES (413 past it, declared or sent);
    None when the client went away before sending all of it.

    Reading it here, rather than trusting Content-Length, means a chunked
    upload cannot slip past the limit either.
    """
    check_declared_length(content_length)
    body, over, gone = await _receive(receive, MAX_BODY_BYTES)
    if over:
        raise PayloadTooLarge()
    return None if gone else body


async def read_prefix(
    receive: Receive, content_length: str | bytes | None, limit: int
) -> tuple[bytes, bool]:
    """At most ``limit`` bytes of the body, and whether that is the whole body.

    Reading stops as soon as more than ``limit`` bytes came (or, declared longer,
    at the first ``limit``): the server reads ahead no more than its flow-control
    buffer (64 KiB) and drops the rest after the answer. A client gone away counts
    as the end of what it sent.
    """
    declared_longer = _declared_over(content_length, limit)
    body, over, _ = await _receive(receive, limit - 1 if declared_longer else limit)
    if over:
        return body[:limit], False
    return body, not declared_longer
