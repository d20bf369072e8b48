"""docs/events.md prints the status guide the console shows: one source for both."""

from __future__ import annotations

from pathlib import Path

from eventrail.processing import statuses as st

DOC = Path(__file__).parents[2] / "docs" / "events.md"


def test_the_docs_table_is_the_guide() -> None:
    assert st.guide_table() in DOC.read_text()


def test_every_status_has_a_row_and_each_entry_finds_one() -> None:
    assert {row.code for row in st.GUIDE} == {*st.ALL, None}
    for status, message, expected in (
        (st.NO_CUSTOMER_DETAILS_PASSED, st.NO_CUSTOMER_MESSAGE, "`Customer details not passed`"),
        (st.NO_CUSTOMER_DETAILS_PASSED, st.not_in_group("g1"), "group <value>`"),
        (st.INVALID_EVENT_NAME, st.invalid_event_name("X"), "`Invalid event name <name>`"),
        (None, st.UNAUTHORIZED_MESSAGE, "`Unauthorized`"),
    ):
        rows = st.guide_rows(status, message)
        assert len(rows) == 1 and rows[0].message.endswith(expected), (status, message)
