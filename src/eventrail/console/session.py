"""The console's cookies: signed with the secret key, stateless, expiring.

A session cookie names who signed in (org, till, OAuth client), a stamp of
the credential (``Authenticator.session_stamp``), its expiry and the session's
CSRF token. It is signed (HMAC-SHA256 with the secret key), not encrypted: it
holds no secret the holder does not already have, and no personal data.
"""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass

import orjson

from eventrail.kit.security import constant_time_equals, keyed_digest, new_secret

SESSION_COOKIE = "eventrail_console"
# Before signing in: ties the sign-in form's CSRF token to this browser.
PRE_COOKIE = "eventrail_console_pre"
SESSION_SECONDS = 8 * 3600
PRE_SECONDS = 3600
COOKIE_PATH = "/console"
_MAX_COOKIE = 2048


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    org_id: int
    till_id: int
    client_id: int | None
    stamp: str
    expires: int  # epoch seconds
    csrf: str


def _sign(key: str, purpose: str, payload: dict[str, object]) -> str:
    body = base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")
    return f"{body}.{keyed_digest(key, purpose, body)}"


def _unsign(key: str, purpose: str, value: str | None) -> dict[str, object] | None:
    """The payload of a value this key signed for this purpose, unexpired; else None."""
    if not value or len(value) > _MAX_COOKIE:
        return None
    body, _, mac = value.rpartition(".")
    if not body or not constant_time_equals(mac, keyed_digest(key, purpose, body)):
        return None
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(payload, dict):
        return None
    expires = payload.get("x")
    if not isinstance(expires, int) or expires <= time.time():
        return None
    return payload


def new_session(
    key: str, org_id: int, till_id: int, client_id: int | None, stamp: str
) -> tuple[str, ConsoleSession]:
    """A fresh session (new CSRF token) and its cookie value."""
    session = ConsoleSession(
        org_id, till_id, client_id, stamp, int(time.time()) + SESSION_SECONDS, new_secret(24)
    )
    payload: dict[str, object] = {
        "o": org_id,
        "t": till_id,
        "c": client_id,
        "s": stamp,
        "x": session.expires,
        "k": session.csrf,
    }
    return _sign(key, "console-session", payload), session


def read_session(key: str, value: str | None) -> ConsoleSession | None:
    payload = _unsign(key, "console-session", value)
    if payload is None:
        return None
    org_id, till_id, client_id = payload.get("o"), payload.get("t"), payload.get("c")
    stamp, csrf, expires = payload.get("s"), payload.get("k"), payload.get("x")
    if not (
        isinstance(org_id, int)
        and isinstance(till_id, int)
        and (client_id is None or isinstance(client_id, int))
        and isinstance(stamp, str)
        and isinstance(csrf, str)
        and isinstance(expires, int)
    ):
        return None
    return ConsoleSession(org_id, till_id, client_id, stamp, expires, csrf)


def new_pre_token(key: str) -> tuple[str, str]:
    """(cookie value, CSRF token) of the sign-in form."""
    token = new_secret(24)
    return _sign(key, "console-pre", {"k": token, "x": int(time.time()) + PRE_SECONDS}), token


def read_pre_token(key: str, value: str | None) -> str | None:
    payload = _unsign(key, "console-pre", value)
    token = payload.get("k") if payload is not None else None
    return token if isinstance(token, str) else None


def csrf_ok(expected: str | None, presented: str | None) -> bool:
    return bool(expected and presented) and constant_time_equals(str(expected), str(presented))
