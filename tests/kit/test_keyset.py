"""kit/keyset.py: every row of a query once, in key order, a batch at a time, on both
databases; a read continues after any row's key (an export's cursor), rows with the
same time included; cursors sent by clients are checked."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from eventrail.db import Database
from eventrail.errors import BadRequest
from eventrail.kit.fastdb import ReadPool
from eventrail.kit.keyset import Keyset, cursor_param, cursor_text, parse_cursor
from tests.fixtures.factories import make_org

# (start_time, seq): three rows share each time, so the key's second column decides
TIMES = [1_700_000_000_000 + i // 3 for i in range(20)]


@pytest.fixture
def pool(db: Database) -> Iterator[ReadPool]:
    pool = ReadPool(db.settings)
    yield pool
    pool.close()


@pytest.fixture
def org_id(db: Database) -> int:
    org_id = make_org(db, name="keyset")
    with db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO event_logs (id, org_id, parent_org_id, webhook_id, start_time, "
                "seq, response_time, status, event_name, input_request, message) VALUES "
                "(:id, :org, -1, 'wh', :time, :seq, 5, :status, 'Purchase', '{}', 'ok')"
            ),
            [
                {
                    "id": uuid.uuid4().hex,
                    "org": org_id,
                    "time": time,
                    # written out of key order: the order comes from the key, not the insert
                    "seq": (i * 7) % 20,
                    "status": "EVENT_SUCCESS" if i % 4 else "INVALID_EVENT_NAME",
                }
                for i, time in enumerate(TIMES)
            ],
        )
    return org_id


def logs(org_id: int, status: str | None = None) -> Keyset:
    where, params = ["org_id = :org_id"], {"org_id": org_id}
    if status is not None:
        where.append("status = :status")
        params["status"] = status
    return Keyset(
        ("id", "start_time", "seq", "status"), "event_logs", ("start_time", "seq"), where, params
    )


def expected(org_id: int, db: Database, status: str | None = None) -> list[tuple[int, int]]:
    """The keys the query matches, read in one go and sorted here."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT start_time, seq, status FROM event_logs WHERE org_id = :o"),
            {"o": org_id},
        )
        return sorted((int(t), int(s)) for t, s, st in rows if status in (None, st))


@pytest.mark.parametrize("size", [1, 3, 7, 20, 50])
def test_every_row_once_in_key_order_a_batch_at_a_time(
    pool: ReadPool, db: Database, org_id: int, size: int
) -> None:
    keyset = logs(org_id)
    batches = list(keyset.batches(pool.rows, size=size))
    assert all(len(batch) <= size for batch in batches)
    assert all(batches), "no empty batch"
    keys = [keyset.key_of(row) for batch in batches for row in batch]
    assert keys == expected(org_id, db)
    assert len(keys) == len(TIMES)


def test_a_read_continues_after_any_rows_key(pool: ReadPool, db: Database, org_id: int) -> None:
    keyset = logs(org_id, status="EVENT_SUCCESS")
    every = expected(org_id, db, "EVENT_SUCCESS")
    assert 0 < len(every) < len(TIMES)
    for i, key in enumerate(every):
        # the cursor's text, as an export shows it and a client sends it back
        after = parse_cursor(cursor_text(key))
        assert after == key
        rest = [
            keyset.key_of(row) for b in keyset.batches(pool.rows, after=after, size=4) for row in b
        ]
        assert rest == every[i + 1 :], key


def test_a_row_written_after_an_earlier_batch_is_read(
    pool: ReadPool, db: Database, org_id: int
) -> None:
    keyset = logs(org_id)
    batches = keyset.batches(pool.rows, size=5)
    first = next(batches)
    with db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO event_logs (id, org_id, parent_org_id, webhook_id, start_time, "
                "seq, response_time, status, event_name, input_request, message) VALUES "
                "(:id, :org, -1, 'wh', :time, 99, 5, 'EVENT_SUCCESS', 'Purchase', '{}', 'ok')"
            ),
            {"id": uuid.uuid4().hex, "org": org_id, "time": TIMES[-1]},
        )
    rest = [keyset.key_of(row) for batch in batches for row in batch]
    assert [keyset.key_of(row) for row in first] + rest == expected(org_id, db)
    assert rest[-1] == (TIMES[-1], 99)


def test_the_query_of_a_batch() -> None:
    keyset = Keyset(("a", "b", "c", "x"), "t", ("a", "b", "c"), ["org_id = :org"], {"org": 7})
    sql, params = keyset.query(None, 10)
    assert sql == "SELECT a, b, c, x FROM t WHERE org_id = :org ORDER BY a, b, c LIMIT :limit"
    assert params == {"org": 7, "limit": 10}
    sql, params = keyset.query((1, 2, 3), 10)
    assert sql == (
        "SELECT a, b, c, x FROM t WHERE org_id = :org AND "
        "(a > :after_0 OR (a = :after_0 AND (b > :after_1 OR (b = :after_1 AND c > :after_2)))) "
        "ORDER BY a, b, c LIMIT :limit"
    )
    assert params == {"org": 7, "limit": 10, "after_0": 1, "after_1": 2, "after_2": 3}
    assert keyset.key_of((1, 2, 3, "x")) == (1, 2, 3)
    with pytest.raises(ValueError):
        keyset.query((1, 2), 10)
    with pytest.raises(ValueError):
        next(keyset.batches(lambda sql, params: [], size=0))


@pytest.mark.parametrize(
    "text",
    ["", ".", "1.", ".2", "1.2.3", "a.1", "1.b", "-1.2", "1. 2", "².1", "1.٣", "1" * 19 + ".1"],
)
def test_a_cursor_that_is_not_one_is_refused_naming_the_parameter(text: str) -> None:
    assert parse_cursor(text) is None
    with pytest.raises(BadRequest) as refused:
        cursor_param(text, "query parameter 'after'", "the cursor of an exported row")
    assert str(refused.value.message) == (
        "Invalid value for query parameter 'after': the cursor of an exported row"
    )


def test_a_cursor_names_its_key() -> None:
    assert cursor_text((1733300000000, 42)) == "1733300000000.42"
    assert parse_cursor("1733300000000.42") == (1733300000000, 42)
    assert parse_cursor("1" * 18 + ".0") == (int("1" * 18), 0)
    assert cursor_param(None, "x", "y") is None
