"""Keyset iteration: every row a query matches, in the order of a key, a batch at a time.

A :class:`Keyset` is a query's columns, table, filters and ordering key (columns
that together are unique, an index's). Its :meth:`Keyset.batches` reads the rows
as short queries, ``... WHERE <filters> AND <key> > <the last row's key> ORDER BY
<key> LIMIT n``: no transaction or server-side cursor is held open between two
batches, memory is that of one batch whatever the number of rows, and a read cut
short continues after the key of the last row it handed on (an export's
``cursor``, :func:`cursor_text` and :func:`parse_cursor`).

The key's comparison is written out (``a > :k0 OR (a = :k0 AND b > :k1)``) rather
than as a row value, so that both databases read it as a range of the index
whose leading columns are the filters' equalities and then the key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eventrail.errors import BadRequest

Run = Callable[[str, dict[str, Any]], list[tuple[Any, ...]]]
# the longest part of a cursor: 18 digits, within a signed 64-bit column
_PART_DIGITS = 18


@dataclass(frozen=True, slots=True)
class Keyset:
    """``SELECT columns FROM source WHERE where ORDER BY key``, read in key order.

    ``where`` terms use ``:name`` parameters whose values are in ``params``; every
    column of ``key`` is one of ``columns`` (written the same way), so that the key
    of a row read is known."""

    columns: Sequence[str]
    source: str
    key: Sequence[str]
    where: Sequence[str] = ()
    params: Mapping[str, Any] = field(default_factory=dict)

    def query(self, after: Sequence[Any] | None, limit: int) -> tuple[str, dict[str, Any]]:
        """The SQL and parameters of the batch of up to ``limit`` rows after the key
        ``after`` (the first batch: None)."""
        params = {**self.params, "limit": limit}
        where = list(self.where)
        if after is not None:
            if len(after) != len(self.key):
                raise ValueError(f"a key of {len(self.key)} values, not {len(after)}")
            params.update({f"after_{i}": value for i, value in enumerate(after)})
            where.append(_after(self.key, 0))
        condition = f" WHERE {' AND '.join(where)}" if where else ""
        sql = (
            f"SELECT {', '.join(self.columns)} FROM {self.source}{condition} "
            f"ORDER BY {', '.join(self.key)} LIMIT :limit"
        )
        return sql, params

    def key_of(self, row: Sequence[Any]) -> tuple[Any, ...]:
        """A row's key (the row as read, its values in ``columns``' order)."""
        return tuple(row[self.columns.index(column)] for column in self.key)

    def batches(
        self, run: Run, *, after: Sequence[Any] | None = None, size: int
    ) -> Iterator[list[tuple[Any, ...]]]:
        """Every row after the key ``after`` (from the first: None), ``size`` rows a
        batch, each batch read by ``run(sql, params)`` when the one before it has
        been taken; no empty batch."""
        if size < 1:
            raise ValueError("a batch holds one row at least")
        positions = [self.columns.index(column) for column in self.key]
        while True:
            rows = run(*self.query(after, size))
            if not rows:
                return
            yield rows
            after = [rows[-1][i] for i in positions]


def _after(key: Sequence[str], i: int) -> str:
    """``key[i:]`` after the values ``:after_i``...: ``(a > :k OR (a = :k AND ...))``."""
    term = f"{key[i]} > :after_{i}"
    if i == len(key) - 1:
        return term
    return f"({term} OR ({key[i]} = :after_{i} AND {_after(key, i + 1)}))"


def cursor_text(key: Sequence[int]) -> str:
    """A row's cursor: its key's whole numbers joined by dots (``1733300000000.42``)."""
    return ".".join(str(int(part)) for part in key)


def parse_cursor(text: str) -> tuple[int, int] | None:
    """The (time, id) key a cursor names, or None when ``text`` is not two whole
    numbers (ASCII digits, at most 18 each) joined by a dot."""
    time_part, dot, id_part = text.partition(".")
    if not dot or not all(
        part.isascii() and part.isdigit() and len(part) <= _PART_DIGITS
        for part in (time_part, id_part)
    ):
        return None
    return int(time_part), int(id_part)


def cursor_param(text: str | None, name: str, hint: str) -> tuple[int, int] | None:
    """A (time, id) cursor sent by a client (None: none sent), or a 400 naming the
    parameter: ``Invalid value for <name>: <hint>``."""
    if text is None:
        return None
    found = parse_cursor(text)
    if found is None:
        raise BadRequest(f"Invalid value for {name}: {hint}")
    return found
