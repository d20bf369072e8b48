"""What the fast lane's handlers share: the caller of a request (credentials, then
the rate limit of (org, credential, endpoint)), and the read connection.

The fast lane's counterpart of ``deps.py``; see ``kit/asgi.py`` for the lane.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anyio

from eventrail.auth.schemas import Caller
from eventrail.auth.service import Authenticator
from eventrail.config import Settings
from eventrail.db import Database
from eventrail.errors import RateLimited
from eventrail.kit.asgi import FastRequest
from eventrail.kit.fastdb import ReadConnection
from eventrail.kit.flight import SingleFlight
from eventrail.kit.ratelimit import Decision, RateLimiter


@dataclass
class LaneContext:
    settings: Settings
    db: Database
    reader: ReadConnection
    authenticator: Authenticator
    limiter: RateLimiter
    _lookups: SingleFlight = field(default_factory=SingleFlight)

    def _authenticate(self, headers: Any) -> Caller:
        with self.db.transaction(write=False) as session:
            caller: Caller = self.authenticator.authenticate(session, headers)
            return caller

    async def caller(self, request: FastRequest, endpoint: str) -> Caller:
        """The authenticated caller, counted against its rate limit for ``endpoint``."""
        caller = self.authenticator.cached(request.headers)
        if caller is None:
            headers = request.headers
            credential = (headers.get("x-cap-api-oauth-token"), headers.get("authorization"))
            caller = await self._lookups.run(credential, self._authenticate, headers)
        await self.limit(
            request, caller.rate_limit, str(caller.org_id), caller.credential, endpoint
        )
        return caller

    async def limit(self, request: FastRequest, per_minute: int, *key: str) -> Decision:
        if self.limiter.shared:
            decision = await anyio.to_thread.run_sync(self.limiter.check, per_minute, *key)
        else:
            decision = self.limiter.check(per_minute, *key)
        request.rate_limit = decision
        if not decision.allowed:
            raise RateLimited(headers={"Retry-After": str(decision.retry_after)})
        return decision
