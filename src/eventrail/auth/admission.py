"""Admission: the one way a request becomes a caller and is charged to a budget.

Every route calls it, whichever transport serves it (FastAPI's dependencies,
the fast lane's reads and the webhooks):

1. ``read_credentials`` takes the credential headers from the raw ASGI headers,
   refusing a repeated one (which of two ``Authorization`` headers counts
   would otherwise depend on the transport) and one too long to be real;
2. ``Admission.caller`` turns them into a :class:`Caller`: from the few-second
   cache, else once per credential in a worker thread (``SingleFlight``) that
   reads the database and checks the secret under the failed-login lockout,
   and names the caller's org on the request's access line (``kit/accesslog.py``);
3. ``Admission.charge`` counts the request against a budget (the org's limit per
   credential and endpoint, or per source for anonymous senders) and raises
   429 past it. Changing the org's own settings is counted against at least
   ``SETTINGS_FLOOR_PER_MINUTE``, whatever the org's limit, so that an org that
   set its limit too low can always set it back (docs/decisions.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import anyio

from eventrail.auth.schemas import Caller, Credentials
from eventrail.auth.service import Authenticator
from eventrail.db import Database
from eventrail.errors import BadRequest, RateLimited, Unauthorized
from eventrail.kit import metrics
from eventrail.kit.accesslog import note_org
from eventrail.kit.flight import SingleFlight
from eventrail.kit.ratelimit import Decision, RateLimiter

_CREDENTIAL_HEADERS = {
    b"authorization": "Authorization",
    b"x-cap-api-oauth-token": "X-CAP-API-OAUTH-TOKEN",
}
_CREDENTIAL_LENGTHS = frozenset(len(name) for name in _CREDENTIAL_HEADERS)
MAX_CREDENTIAL_BYTES = 4096
# The budget of changing the org's settings never drops below this, whatever
# rateLimitPerMinute says: a limit of 1 must not lock the org out of undoing it.
SETTINGS_FLOOR_PER_MINUTE = 60
_FLOORS = {"PUT /v2/orgs/settings": SETTINGS_FLOOR_PER_MINUTE}


def read_credentials(
    headers: Iterable[tuple[bytes, bytes]], client: tuple[str, int] | list[object] | None
) -> Credentials:
    """The credentials of a request's raw headers; 400 for a repeated or oversized one."""
    found: dict[bytes, str] = {}
    for raw_name, raw_value in headers:
        # Every request passes here: a name of another length is skipped unlowered.
        if len(raw_name) not in _CREDENTIAL_LENGTHS:
            continue
        name = raw_name.lower()
        label = _CREDENTIAL_HEADERS.get(name)
        if label is None:
            continue
        if name in found:
            raise BadRequest(f"Header '{label}' is repeated: send one credential")
        if len(raw_value) > MAX_CREDENTIAL_BYTES:
            raise BadRequest(f"Header '{label}' is longer than {MAX_CREDENTIAL_BYTES} bytes")
        found[name] = raw_value.decode("latin-1")
    source = str(client[0]) if client else "unknown"
    return Credentials(found.get(b"x-cap-api-oauth-token"), found.get(b"authorization"), source)


@dataclass
class Admission:
    db: Database
    authenticator: Authenticator
    limiter: RateLimiter
    _lookups: SingleFlight = field(default_factory=SingleFlight)

    def _authenticate(self, credentials: Credentials) -> Caller:
        with self.db.transaction(write=False) as session:
            return self.authenticator.authenticate(session, credentials)

    async def caller(self, credentials: Credentials) -> Caller:
        """The authenticated caller (401, or 429 from the lockout, otherwise)."""
        key = credentials.cache_key
        if key is None:
            raise Unauthorized()
        caller = self.authenticator.cached(credentials)
        if caller is None:
            caller = await self._lookups.run(key, self._authenticate, credentials)
        note_org(caller.org_id)
        return caller

    async def charge(self, per_minute: int, *key: str, budget: str = "requests") -> Decision:
        """Counts one request of ``key`` in its minute; 429 past ``per_minute``, counted
        in the metrics under ``budget`` (``kit.metrics.REFUSALS``)."""
        if self.limiter.shared:
            decision = await anyio.to_thread.run_sync(self.limiter.check, per_minute, *key)
        else:
            decision = self.limiter.check(per_minute, *key)
        if not decision.allowed:
            metrics.REFUSALS[budget].inc()
            raise RateLimited(headers=decision.refusal_headers())
        return decision

    async def admit(self, credentials: Credentials, endpoint: str) -> tuple[Caller, Decision]:
        """The caller, charged to its org's budget for (credential, endpoint)."""
        caller = await self.caller(credentials)
        per_minute = max(caller.rate_limit, _FLOORS.get(endpoint, 0))
        decision = await self.charge(per_minute, str(caller.org_id), caller.credential, endpoint)
        return caller, decision
