"""Buffered random UUIDs: version 4, distinct, and never repeated by a forked child."""

from __future__ import annotations

import os
import uuid

from eventrail.kit import ids


def test_ids_are_random_version_4_and_distinct() -> None:
    made = [ids.uuid4() for _ in range(5000)]  # several buffers' worth
    assert all(u.version == 4 and u.variant == uuid.RFC_4122 for u in made)
    assert len({u.int for u in made}) == len(made)


def test_uuid4_str_is_the_text_of_a_version_4_uuid() -> None:
    texts = [ids.uuid4_str() for _ in range(2000)]
    assert len(set(texts)) == len(texts)
    for text in texts:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_a_forked_child_does_not_repeat_its_parents_next_ids() -> None:
    ids.uuid4()  # the buffer holds unused ids now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: send its next ids and leave
        try:
            os.close(read)
            os.write(write, b"".join(ids.uuid4().bytes for _ in range(10)))
        finally:
            os._exit(0)
    os.close(write)
    child = b""
    while chunk := os.read(read, 4096):
        child += chunk
    os.close(read)
    os.waitpid(pid, 0)
    parent = {ids.uuid4().bytes for _ in range(10)}
    children = {child[i : i + 16] for i in range(0, len(child), 16)}
    assert len(children) == 10
    assert parent.isdisjoint(children)
