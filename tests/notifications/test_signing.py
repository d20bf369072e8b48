"""The verification snippet of docs/notifications.md accepts eventrail's signature and
refuses a changed body, another secret, or an old timestamp."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eventrail.notifications import signing

DOC = Path(__file__).resolve().parents[2] / "docs" / "notifications.md"


def _documented_verify() -> Callable[..., bool]:
    text = DOC.read_text()
    [block] = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "def verify" in b]
    scope: dict[str, Any] = {}
    exec(compile(block, str(DOC), "exec"), scope)  # noqa: S102 (our own documentation)
    verify: Callable[..., bool] = scope["verify"]
    return verify


def test_the_documented_snippet_verifies_eventrail_signatures() -> None:
    verify = _documented_verify()
    secret = signing.new_secret()
    body = b'{"eventName":"customerUpdated","data":{"a":1}}'
    now = int(time.time())
    headers = signing.headers(secret, "delivery-1", now, body)
    assert verify(secret, headers, body)
    assert not verify(secret, headers, body.replace(b"1", b"2"))
    assert not verify(signing.new_secret(), headers, body)
    assert not verify(secret, {**headers, "webhook-id": "delivery-2"}, body)
    old = signing.headers(secret, "delivery-1", now - 3600, body)
    assert not verify(secret, old, body)
    # A receiver during a rotation may get several signatures: any v1 match passes.
    both = {**headers, "webhook-signature": "v1,AAAA " + headers["webhook-signature"]}
    assert verify(secret, both, body)
