"""Credentials to Caller: Basic ``till:md5(password)`` and OAuth tokens (HS256 JWT).

Tills' passwords are stored as argon2id of the md5 hex that Capillary's Basic
auth sends, so both the md5 and the plain password can be checked against the
same hash and neither is ever stored. Argon2 is deliberately slow (~15 ms), so
a successful check is remembered for a few minutes under an HMAC of
(till, stored hash, presented secret): a changed password or a different
secret never hits the cache.

Brute force is slowed per till code or OAuth client key *and* source address
(``Lockout``): an attempt is counted before the slow hash and given back when it
succeeds; past the budget the attempt is refused with 429 unchecked. Unknown
codes are counted alike (so 429 tells nothing about which codes exist) and
checked against a dummy hash, so that timing does not reveal them either.
Verified callers are cached for a few seconds by credential and source.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
import time
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import jwt
from sqlalchemy import event
from sqlalchemy.orm import Session

from eventrail.auth import provision
from eventrail.auth.provision import MAX_TILL_CODE
from eventrail.auth.repository import AuthRepository
from eventrail.auth.schemas import Caller, Credentials, StoreInfo
from eventrail.errors import BadRequest, NotFound, RateLimited, Unauthorized
from eventrail.kit import metrics
from eventrail.kit.dates import now_ms
from eventrail.kit.plainsql import SessionStatements
from eventrail.kit.ratelimit import HOUR, MINUTE, RateLimiter, subject
from eventrail.kit.security import (
    cache_key,
    constant_time_equals,
    hash_secret,
    keyed_digest,
    md5_hex,
    new_secret,
    verify_secret,
)
from eventrail.models import OAuthClient, Org, Store, Till

_MD5_HEX = re.compile(r"^[0-9a-fA-F]{32}$")
_TOKEN_ISSUER = "eventrail"  # noqa: S105 (a name, not a secret)
_TOKEN_VERSION = "ver"  # noqa: S105 (a claim name, not a secret)
_VERIFIED_TTL_SECONDS = 300.0
_VERIFIED_MAX = 10_000
PSI_VIEW = "PSI_VIEW"
# Verified instead of a real hash when the till code or client key is unknown.
_DUMMY_HASH = hash_secret(new_secret(16))
_MAX_SECRET = 512


class VerifiedCache:
    """Recently verified (till, secret) pairs, bounded, expiring; safe across threads."""

    def __init__(self, ttl: float = _VERIFIED_TTL_SECONDS, size: int = _VERIFIED_MAX) -> None:
        self.ttl = ttl
        self.size = size
        self._items: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str) -> bool:
        with self._lock:
            expiry = self._items.get(key)
            if expiry is None:
                return False
            if expiry < time.monotonic():
                del self._items[key]
                return False
            self._items.move_to_end(key)
            return True

    def put(self, key: str) -> None:
        with self._lock:
            self._items[key] = time.monotonic() + self.ttl
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


_CALLER_SECONDS = 5.0
_CALLERS: weakref.WeakSet[CallerCache] = weakref.WeakSet()


class CallerCache:
    """Callers by credential (an HMAC of the header), for a few seconds: a read should
    not cost a query to know who is asking.

    An entry also expires when its org's settings change through this process
    (masking, limits, timezone are part of the Caller); other processes see the
    change within the TTL.
    """

    def __init__(self, signing_key: str, ttl: float = _CALLER_SECONDS, size: int = 10_000) -> None:
        self.signing_key = signing_key
        self.ttl = ttl
        self.size = size
        self._items: dict[str, tuple[float, int, Caller]] = {}
        self._generations: dict[int, int] = {}
        self._lock = threading.Lock()
        _CALLERS.add(self)

    def _key(self, credential: str) -> str:
        return cache_key(self.signing_key, credential)

    def get(self, credential: str) -> Caller | None:
        key = self._key(credential)
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                return None
            expiry, generation, caller = hit
            if expiry < time.monotonic() or generation != self._generations.get(caller.org_id, 0):
                del self._items[key]
                return None
            return caller

    def put(self, credential: str, caller: Caller) -> None:
        key = self._key(credential)
        with self._lock:
            if len(self._items) >= self.size:
                self._items.clear()
            generation = self._generations.get(caller.org_id, 0)
            self._items[key] = (time.monotonic() + self.ttl, generation, caller)

    def org_changed(self, org_id: int) -> None:
        with self._lock:
            self._generations[org_id] = self._generations.get(org_id, 0) + 1


def forget_org_after_commit(session: Session, org_id: int) -> None:
    """Expire this process's cached callers of the org once the session commits."""

    def forget(_: Session) -> None:
        for cache in list(_CALLERS):
            cache.org_changed(org_id)

    event.listen(session, "after_commit", forget, once=True)


def _decode_basic(value: str) -> tuple[str, str] | None:
    """The (till code, secret) of a Basic credential's base64 value, or None."""
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    code, sep, secret = decoded.partition(":")
    return (code, secret) if sep and code and secret else None


def _caller(till: Till, org: Org, store: Store | None, client: OAuthClient | None) -> Caller:
    return Caller(
        org_id=org.id,
        org_timezone=org.timezone,
        parent_org_id=org.parent_org_id,
        till_id=till.id,
        till_code=till.code,
        till_name=till.name,
        store=(
            StoreInfo(
                code=store.code,
                name=store.name,
                external_id=store.external_id,
                external_id_1=store.external_id_1,
                external_id_2=store.external_id_2,
            )
            if store is not None
            else None
        ),
        client_id=client.id if client is not None else None,
        psi_view=bool(client is not None and client.psi_view),
        psi_masking=org.psi_masking_enabled,
        rate_limit=org.rate_limit_per_minute,
        admin=client.admin if client is not None else till.admin,
    )


class Lockout:
    """Failed-login budgets that stop guessing without handing strangers a lock.

    A login attempt of a till code or client key (the subject) from a source
    address is counted *before* the slow hash, in one atomic step, and given
    back when it succeeds; so concurrent guesses cannot all pass a check made
    before any of them is counted. An attempt is refused with 429, unchecked:

    - when its (subject, source) has had ``per_minute`` attempts that failed in
      the current minute (a guesser locks out only itself);
    - when the subject has had ``per_hour`` failed attempts in the current hour
      from all sources together (a guesser spread over many addresses) *and*
      this source has failed on it ``UNDER_ATTACK_PER_SOURCE`` times this hour.
      A source that has not failed is always checked, so the right password
      from elsewhere still gets in while a subject is under attack.
    """

    UNDER_ATTACK_PER_SOURCE = 3

    def __init__(self, limiter: RateLimiter, per_minute: int, per_hour: int) -> None:
        self.limiter = limiter
        self.per_minute = per_minute
        self.per_hour = per_hour

    def attempt(self, kind: str, name: str, source: str) -> Callable[[], None]:
        """Counts one attempt; raises RateLimited if it may not be checked. Returns
        what to call when it succeeds (it gives the attempt back)."""
        who = subject(kind, name)
        minute = self.limiter.count(self.per_minute, MINUTE, "login", who, source)
        mine = self.limiter.count(self.UNDER_ATTACK_PER_SOURCE, HOUR, "login", who, source)
        everyone = self.limiter.count(self.per_hour, HOUR, "login", who)
        refusal = None
        if not minute.allowed:
            refusal = minute
        elif not everyone.allowed and not mine.allowed:
            refusal = everyone
        if refusal is not None:
            metrics.REFUSALS["logins"].inc()
            raise RateLimited(headers=refusal.refusal_headers())

        def succeeded() -> None:
            self.limiter.refund(MINUTE, "login", who, source)
            self.limiter.refund(HOUR, "login", who, source)
            self.limiter.refund(HOUR, "login", who)

        return succeeded


class Authenticator:
    """Checks credentials; one per app, sharing the verified-secret cache."""

    def __init__(
        self,
        signing_key: str,
        limiter: RateLimiter | None = None,
        *,
        failures_per_minute: int = 10,
        failures_per_hour: int = 100,
    ) -> None:
        self.signing_key = signing_key
        self.cache = VerifiedCache()
        self.callers = CallerCache(signing_key)
        self.lockout = Lockout(
            limiter if limiter is not None else RateLimiter(),
            failures_per_minute,
            failures_per_hour,
        )

    # -- Basic --------------------------------------------------------------
    @staticmethod
    def _secret_matches(password_hash: str, presented: str) -> bool:
        ok = False
        if _MD5_HEX.match(presented):
            ok = verify_secret(password_hash, presented.lower())
        if not ok:
            ok = verify_secret(password_hash, md5_hex(presented))
        return ok

    def _till_secret_ok(self, till: Till, presented: str) -> bool:
        cache_key = keyed_digest(self.signing_key, str(till.id), till.password_hash, presented)
        if self.cache.hit(cache_key):
            return True
        ok = self._secret_matches(till.password_hash, presented)
        if ok:
            self.cache.put(cache_key)
        return ok

    def basic(self, session: Session, header_value: str, source: str) -> Caller:
        credential = _decode_basic(header_value)
        if credential is None:
            raise Unauthorized()
        code, presented = credential
        if len(code) > MAX_TILL_CODE or len(presented) > _MAX_SECRET:
            raise Unauthorized()  # no till has such a code or password: nothing to check
        succeeded = self.lockout.attempt("till", code, source)
        rows = AuthRepository(session).tills_by_code(code)
        if not rows:
            self._secret_matches(_DUMMY_HASH, presented)  # as slow as a wrong password
        matches = [row for row in rows if self._till_secret_ok(row[0], presented)]
        # The same code and password in two orgs cannot tell us which org is meant.
        if len(matches) != 1:
            raise Unauthorized()
        succeeded()
        till, org, store = matches[0]
        return _caller(till, org, store, None)

    # -- OAuth --------------------------------------------------------------
    def issue_token(self, session: Session, key: str, secret: str, source: str) -> tuple[str, int]:
        succeeded = self.lockout.attempt("client", key, source)
        repo = AuthRepository(session)
        client = repo.client_by_key(key)
        if not verify_secret(client.secret_hash if client is not None else _DUMMY_HASH, secret):
            raise Unauthorized()
        assert client is not None
        succeeded()
        if repo.till_in_org(client.org_id, client.till_id) is None:
            raise Unauthorized()  # its default till is disabled: no token to use
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": _TOKEN_ISSUER,
            "sub": client.key,
            "iat": now,
            "exp": now + client.ttl_seconds,
            "jti": uuid.uuid4().hex,
            "token_use": "token_access",
            "client_id": client.id,
            "client_key": client.key,
            "org_id": client.org_id,
            "default_till": client.till_id,
            "scopes": [PSI_VIEW] if client.psi_view else [],
            # Rotating the secret increments the client's version: older tokens stop.
            _TOKEN_VERSION: client.token_version,
        }
        token = jwt.encode(claims, self.signing_key, algorithm="HS256")
        return token, client.ttl_seconds

    def oauth(self, session: Session, token: str) -> Caller:
        try:
            claims = jwt.decode(
                token.strip(),
                self.signing_key,
                algorithms=["HS256"],
                issuer=_TOKEN_ISSUER,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
            org_id = int(claims["org_id"])
            client_id = int(claims["client_id"])
        except (jwt.PyJWTError, KeyError, TypeError, ValueError) as exc:
            raise Unauthorized() from exc
        repo = AuthRepository(session)
        client = repo.client_in_org(org_id, client_id)
        if client is None or client.key != claims["sub"]:
            raise Unauthorized()
        if claims.get(_TOKEN_VERSION, 0) != client.token_version:
            raise Unauthorized()
        row = repo.till_in_org(client.org_id, client.till_id)
        if row is None:
            raise Unauthorized()
        till, org, store = row
        return _caller(till, org, store, client)

    # -- console sessions -----------------------------------------------------
    # The console signs in through ``Admission.caller`` (the same check and lockout
    # as the API) and keeps in its cookie only who signed in and a stamp of the
    # credential: changing the till's password, disabling it, rotating or revoking
    # the client ends its sessions at their next request.
    def session_stamp(self, session: Session, caller: Caller) -> str:
        """A digest of the caller's current credential (its password hash, or the
        client's token version)."""
        repo = AuthRepository(session)
        if caller.client_id is not None:
            client = repo.client_in_org(caller.org_id, caller.client_id)
            if client is None:
                raise Unauthorized()
            secret = f"client:{client.id}:{client.token_version}"
        else:
            row = repo.till_in_org(caller.org_id, caller.till_id)
            if row is None:
                raise Unauthorized()
            secret = f"till:{row[0].id}:{row[0].password_hash}"
        return keyed_digest(self.signing_key, "console-session", secret)[:32]

    def resume(
        self, session: Session, org_id: int, till_id: int, client_id: int | None, stamp: str
    ) -> Caller:
        """The caller of a console session, if its credential has not changed since."""
        repo = AuthRepository(session)
        client = None
        if client_id is not None:
            client = repo.client_in_org(org_id, client_id)
            if client is None or client.till_id != till_id:
                raise Unauthorized()
        row = repo.till_in_org(org_id, till_id)
        if row is None:
            raise Unauthorized()
        till, org, store = row
        caller = _caller(till, org, store, client)
        if not constant_time_equals(self.session_stamp(session, caller), stamp):
            raise Unauthorized()
        return caller

    def cached(self, credentials: Credentials) -> Caller | None:
        """The caller of these credentials from this source, if checked in the last
        few seconds. Keyed by source too: a hit is never a guess that happens to be
        right, so the lockout need not be asked first."""
        key = credentials.cache_key
        return self.callers.get(key) if key is not None else None

    def authenticate(self, session: Session, credentials: Credentials) -> Caller:
        hit = self.cached(credentials)
        if hit is not None:
            return hit
        caller = self._authenticate(session, credentials)
        if credentials.cache_key is not None:
            self.callers.put(credentials.cache_key, caller)
        return caller

    def _authenticate(self, session: Session, credentials: Credentials) -> Caller:
        if credentials.token:
            return self.oauth(session, credentials.token)
        if credentials.authorization:
            scheme, _, value = credentials.authorization.partition(" ")
            if scheme.lower() == "basic" and value:
                return self.basic(session, value, credentials.source)
        raise Unauthorized()


# -- provisioning (CLI) -------------------------------------------------------
# Effective within CallerCache's TTL in every process: a change of password,
# a disabled till, a revoked client or a rotated secret is refused once the
# caller remembered for that credential expires (the verified-secret cache keys
# on the stored hash, and disabled tills and revoked clients are never read).


def _till(session: Session, org_id: int, code: str) -> Till:
    till = AuthRepository(session).till_by_code(org_id, code)
    if till is None:
        raise NotFound(f"No till '{code}' in org {org_id}")
    return till


def _client(session: Session, org_id: int, key: str) -> OAuthClient:
    client = AuthRepository(session).client_of_org(org_id, key)
    if client is None:
        raise NotFound(f"No OAuth client '{key}' in org {org_id}")
    return client


def create_till(
    session: Session,
    *,
    org_id: int,
    code: str,
    password: str,
    name: str | None = None,
    store_code: str | None = None,
    store_name: str | None = None,
    admin: bool = False,
) -> Till:
    """A new till (auth/provision.py, which ``eventrail till create`` runs without the ORM)."""
    till_id = provision.create_till(
        SessionStatements(session),
        org_id=org_id,
        code=code,
        password=password,
        name=name,
        store_code=store_code,
        store_name=store_name,
        admin=admin,
    )
    till = session.get(Till, till_id)
    assert till is not None
    return till


def set_till_password(session: Session, *, org_id: int, code: str, password: str) -> Till:
    """A new password: the old one is refused from then on (see the bound above)."""
    till = _till(session, org_id, code)
    AuthRepository(session).set_till_password(till, provision.password_hash(password))
    return till


def set_till_enabled(session: Session, *, org_id: int, code: str, enabled: bool) -> Till:
    """Disable (or enable again) a till: a disabled till cannot log in, its
    clients' tokens stop working, and Basic-auth webhooks refuse it."""
    till = _till(session, org_id, code)
    if enabled:
        disabled_at = None
    elif till.disabled_at is None:
        disabled_at = now_ms()
    else:
        disabled_at = till.disabled_at  # disabled already: since then
    AuthRepository(session).set_till_disabled(till, disabled_at)
    return till


def set_till_admin(session: Session, *, org_id: int, code: str, admin: bool) -> Till:
    till = _till(session, org_id, code)
    AuthRepository(session).set_till_admin(till, admin)
    return till


def revoke_client(session: Session, *, org_id: int, key: str) -> OAuthClient:
    """Revoke a client for good: no new token, and its tokens stop working."""
    client = _client(session, org_id, key)
    revoked_at = now_ms() if client.revoked_at is None else client.revoked_at
    AuthRepository(session).set_client_revoked(client, revoked_at)
    return client


def rotate_client(session: Session, *, org_id: int, key: str) -> tuple[OAuthClient, str]:
    """A new secret, shown only this once; the old secret and every token issued
    before the rotation stop working."""
    client = _client(session, org_id, key)
    if client.revoked_at is not None:
        raise BadRequest(f"OAuth client '{key}' is revoked: create a new client")
    secret = new_secret(32)
    AuthRepository(session).set_client_secret(
        client, hash_secret(secret), token_version=client.token_version + 1
    )
    return client, secret


def create_client(
    session: Session,
    *,
    org_id: int,
    till_code: str,
    ttl_seconds: int,
    psi_view: bool,
    admin: bool = False,
) -> tuple[OAuthClient, str]:
    """A new OAuth client; returns it with its secret, which is shown only this once
    (auth/provision.py, which ``eventrail client create`` runs without the ORM)."""
    client_id, _, secret = provision.create_client(
        SessionStatements(session),
        org_id=org_id,
        till_code=till_code,
        ttl_seconds=ttl_seconds,
        psi_view=psi_view,
        admin=admin,
    )
    client = session.get(OAuthClient, client_id)
    assert client is not None
    return client, secret


def till_views(session: Session, org_id: int, till_ids: set[int]) -> dict[int, dict[str, Any]]:
    """Capillary's till object (as in an ``attribution`` block) of each of these tills.

    eventrail keeps no currency, language or time-zone ids per till, nor
    Capillary's referenceId: those answer -1, as Capillary's own samples do
    where a till has none.
    """
    tills = AuthRepository(session).tills_in_org(org_id, till_ids)
    return {
        till_id: {
            "id": till.id,
            "code": till.code,
            "description": "",
            "name": till.name,
            "type": "TILL",
            "referenceId": -1,
            "adminType": "GENERAL",
            "isActive": till.disabled_at is None,
            "isOuEnabled": False,
            "timeZoneId": -1,
            "currencyId": -1,
            "languageId": -1,
            "default": False,
        }
        for till_id, till in tills.items()
    }
