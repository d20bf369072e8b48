"""Streamed exports: rows encoded as NDJSON or CSV, a batch at a time.

An export reads its rows in keyset batches (``kit/keyset.Keyset``: each a short
query, no transaction held open for the length of the download) from a generator
of batches, encodes each batch and hands the bytes on, so memory stays that of
one batch whatever the size of the export. Every row ends with a ``cursor`` (its
key, ``keyset.cursor_text``): passed back as ``after``, the export continues
after that row.

NDJSON (``application/x-ndjson``): one JSON object per line, and a last line
``{"_export": {"rows": N, "complete": true}}`` so that a download cut short
(the status line went out before the first row) can be told from a whole one.
CSV (RFC 4180, ``text/csv``): a header row, CRLF record ends, fields quoted when
they hold a comma, a quote, CR or LF (quotes doubled); nested values as JSON
text; text cells that start with ``=``, ``+``, ``-``, ``@``, tab or CR get a
leading ``'`` so that a spreadsheet does not run them as formulas.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import anyio
import orjson
from starlette.responses import StreamingResponse

from eventrail.kit.keyset import cursor_param, parse_cursor

if TYPE_CHECKING:
    from eventrail.kit.fastdb import ReadPool, ReadRoute

FORMATS = ("ndjson", "csv")
MEDIA_TYPES = {"ndjson": "application/x-ndjson", "csv": "text/csv; charset=utf-8; header=present"}
BATCH_ROWS = 1000
# SQLite page cache of an export's own read connection (it reads each page once)
EXPORT_CACHE_KIB = 4096
TRAILER_KEY = "_export"
_FORMULA = ("=", "+", "-", "@", "\t", "\r")

Batches = Iterator[list[dict[str, Any]]]


def cell(value: Any) -> str:
    """A CSV field's text (before the writer's quoting)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA) else value
    return orjson.dumps(value).decode()


class Encoder:
    """Rows -> bytes in one format; ``columns`` name the CSV header (a row's missing
    keys are empty fields)."""

    def __init__(self, fmt: str, columns: Sequence[str]) -> None:
        self.fmt = fmt
        self.columns = tuple(columns)
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer)  # the excel dialect: RFC 4180, CRLF

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.fmt]

    def _csv(self, records: list[list[str]]) -> bytes:
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writer.writerows(records)
        return self._buffer.getvalue().encode()

    def header(self) -> bytes:
        return self._csv([list(self.columns)]) if self.fmt == "csv" else b""

    def rows(self, rows: list[dict[str, Any]]) -> bytes:
        if self.fmt == "ndjson":
            return b"".join(orjson.dumps(row) + b"\n" for row in rows)
        return self._csv([[cell(row.get(c)) for c in self.columns] for row in rows])

    def trailer(self, count: int) -> bytes:
        if self.fmt == "ndjson":
            return orjson.dumps({TRAILER_KEY: {"rows": count, "complete": True}}) + b"\n"
        return b""


async def stream(
    batches: Batches, encoder: Encoder, close: Callable[[], None]
) -> AsyncIterator[bytes]:
    """The export's bytes: each batch read and encoded on a worker thread (the
    event loop keeps serving), ``close`` called however the stream ends (a client
    that goes away included)."""

    def step() -> tuple[bytes, int] | None:
        batch = next(batches, None)
        return None if batch is None else (encoder.rows(batch), len(batch))

    count = 0
    try:
        yield encoder.header()
        while True:
            done = await anyio.to_thread.run_sync(step)
            if done is None:
                break
            count += done[1]
            yield done[0]
        yield encoder.trailer(count)
    finally:
        await anyio.to_thread.run_sync(close)


def response(
    route: ReadRoute,
    read_from: str | None,
    read: Callable[[ReadPool], Batches],
    *,
    fmt: str,
    columns: Sequence[str],
    filename: str,
) -> StreamingResponse:
    """An export's answer: ``read``'s batches (a generator, read as the download goes)
    on a connection of its own to the database ``read_from`` picks, closed when the
    stream ends, so that a long export does not queue the process's other reads
    behind it; sent as ``filename``.<format>."""
    pool = route.dedicated(read_from, sqlite_cache_kib=EXPORT_CACHE_KIB)
    encoder = Encoder(fmt, columns)
    return StreamingResponse(
        stream(read(pool), encoder, pool.close),
        media_type=encoder.media_type,
        headers={"content-disposition": f'attachment; filename="{filename}.{fmt}"'},
    )


def after_param(text: str | None) -> tuple[int, int] | None:
    """An export's ``after`` (None: from the first row): the ``cursor`` of the last row
    received, or a 400 naming the parameter."""
    return cursor_param(text, "query parameter 'after'", "the cursor of an exported row")


def export_params() -> Any:
    """The parameters every export adds to its read's filters."""
    from eventrail.kit.params import Choice, Params, Str

    return Params(
        Choice("format", FORMATS, "ndjson (one JSON object a line) or csv", default="ndjson"),
        Str("after", 40, "The cursor of the last row received: continue after it"),
    )


def openapi_answer(row_schema: str) -> dict[int | str, dict[str, Any]]:
    """An export's 200 answer in the OpenAPI document."""
    return {
        200: {
            "description": f"Every matching row, oldest first ({row_schema} objects, each "
            "with its cursor); NDJSON ends with a line "
            '{"_export": {"rows": N, "complete": true}}',
            "content": {
                MEDIA_TYPES["ndjson"]: {"schema": {"type": "string"}},
                MEDIA_TYPES["csv"]: {"schema": {"type": "string"}},
            },
        }
    }


class ResumePoint:
    """Where an export file ends: the cursor of its last whole row, the file's size up
    to that row's end (a row cut short is dropped), and whether it is complete."""

    def __init__(self, after: tuple[int, int] | None, size: int, complete: bool) -> None:
        self.after = after
        self.size = size
        self.complete = complete


def resume_point(path: Any, fmt: str) -> ResumePoint:
    """Read the file once, a line at a time (constant memory)."""
    after: tuple[int, int] | None = None
    size = 0
    complete = False
    if fmt == "ndjson":
        with open(path, "rb") as f:
            pos = 0
            for line in f:
                pos += len(line)
                if not line.endswith(b"\n"):
                    break
                try:
                    row = orjson.loads(line)
                except orjson.JSONDecodeError:
                    break
                if isinstance(row, dict) and TRAILER_KEY in row:
                    complete = True
                    size = pos
                    break
                found = parse_cursor(str(row.get("cursor", ""))) if isinstance(row, dict) else None
                if found is None:
                    break
                after, size = found, pos
        return ResumePoint(after, size, complete)
    consumed = 0
    ended = True  # the last line read ends with its line break (not cut short)

    def lines() -> Iterator[str]:
        nonlocal consumed, ended
        with open(path, encoding="utf-8", newline="") as f:
            for line in f:
                consumed += len(line.encode())
                ended = line.endswith("\n")
                yield line

    reader = csv.reader(lines())
    try:
        header = next(reader, None)
        if header is None:
            return ResumePoint(None, 0, False)
        size = consumed
        for record in reader:
            if len(record) != len(header) or not ended:
                break
            found = parse_cursor(record[-1])
            if found is None:
                break
            after, size = found, consumed
    except csv.Error:
        pass  # a record cut inside its quotes: the file ends before it
    return ResumePoint(after, size, False)


def write_file(
    path: Any,
    encoder: Encoder,
    batches: Batches,
    size: int,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write (``size`` 0) or continue (after the first ``size`` bytes) an export file;
    the rows written. Each batch is flushed as it is written."""
    rows = 0
    mode = "r+b" if size else "wb"
    with open(path, mode) as f:
        if size:
            f.seek(size)
            f.truncate()
        else:
            f.write(encoder.header())
        for batch in batches:
            f.write(encoder.rows(batch))
            f.flush()
            rows += len(batch)
            if progress is not None:
                progress(len(batch))
        f.write(encoder.trailer(rows))
    return rows
