"""Random credentials: long enough, URL-safe, and usable as a command-line value."""

from __future__ import annotations

import re

from eventrail.kit.security import new_secret


def test_new_secrets_never_start_like_an_option() -> None:
    # Plain token_urlsafe values start with "-" or "_" one time in 32: among 2,000
    # of them some would.
    values = [new_secret(8) for _ in range(2000)]
    assert all(value[0].isalnum() for value in values)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", value) for value in values)
    assert len(set(values)) == len(values)
    assert len(new_secret()) >= 43
