"""Secrets: slow hashes for what we store, constant-time checks for what we compare."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's minimum recommended argon2id parameters: 19 MiB, 2 passes, 1 lane.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


def hash_secret(secret: str) -> str:
    return _HASHER.hash(secret)


def verify_secret(stored_hash: str, candidate: str) -> bool:
    try:
        return _HASHER.verify(stored_hash, candidate)
    except (VerificationError, InvalidHashError):
        return False


def md5_hex(text: str) -> str:
    """Lower-case md5 hex, as Capillary's Basic auth sends the password."""
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def keyed_digest(key: str, *parts: str) -> str:
    """HMAC-SHA256 of the parts: a cache key that reveals nothing about them."""
    # A copy of the key's prepared HMAC, then one update: the same digest as a new
    # hmac object updated part by part, at a third of its cost (it is taken for
    # every authenticated request: the caller cache's key).
    mac = _keyed(key).copy()
    mac.update("".join(part + "\x00" for part in parts).encode())
    return mac.hexdigest()


def cache_key(key: str, text: str) -> str:
    """A keyed BLAKE2b of ``text``: names a credential in a cache held in memory only
    (never stored, never sent), at a third of ``keyed_digest``'s cost; the caller
    cache takes one for every authenticated request."""
    return hashlib.blake2b(text.encode(), key=_blake_key(key), digest_size=32).hexdigest()


@lru_cache(maxsize=8)
def _blake_key(key: str) -> bytes:
    return hashlib.sha256(b"eventrail cache key\x00" + key.encode()).digest()


@lru_cache(maxsize=8)
def _keyed(key: str) -> hmac.HMAC:
    return hmac.new(key.encode(), digestmod=hashlib.sha256)


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def new_secret(nbytes: int = 32) -> str:
    """A URL-safe random string that never starts with ``-`` or ``_``: a client key
    given on the command line (``--key -abc``) would otherwise read as an option."""
    while True:
        value = secrets.token_urlsafe(nbytes)
        if value[0].isalnum():
            return value


def new_hex_id() -> str:
    """32 lower-case hex characters (webhook ids, request ids, definition ids)."""
    return secrets.token_hex(16)
