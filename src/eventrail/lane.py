"""What the fast lane's handlers share: admission (the caller of a request and its
rate limit, the same as FastAPI's routes) and where reads go (``kit/fastdb.ReadRoute``:
the replica, or the primary when the request asks for it).

The fast lane's counterpart of ``deps.py``; see ``kit/asgi.py`` for the lane.
"""

from __future__ import annotations

from dataclasses import dataclass

from eventrail.auth.admission import Admission, read_credentials
from eventrail.auth.schemas import Caller
from eventrail.config import Settings
from eventrail.db import Database
from eventrail.kit.asgi import FastRequest
from eventrail.kit.fastdb import ReadRoute


@dataclass
class LaneContext:
    settings: Settings
    db: Database
    reads: ReadRoute
    admission: Admission

    async def caller(self, request: FastRequest, endpoint: str) -> Caller:
        """The authenticated caller, counted against its rate limit for ``endpoint``."""
        scope = request.scope
        credentials = read_credentials(scope["headers"], scope.get("client"))
        caller, request.rate_limit = await self.admission.admit(credentials, endpoint)
        return caller
