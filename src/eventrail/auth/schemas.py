from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import Field

from eventrail.kit.schemas import Schema


@dataclass(frozen=True, slots=True)
class StoreInfo:
    code: str
    name: str
    external_id: str | None
    external_id_1: str | None
    external_id_2: str | None

    def as_audit(self) -> dict[str, str | None]:
        return {
            "code": self.code,
            "name": self.name,
            "externalId": self.external_id,
            "externalId1": self.external_id_1,
            "externalId2": self.external_id_2,
        }


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: the org, the till the call is attributed to, and permissions."""

    org_id: int
    org_timezone: str
    parent_org_id: int | None
    till_id: int
    till_code: str
    till_name: str
    store: StoreInfo | None
    client_id: int | None
    psi_view: bool
    psi_masking: bool
    rate_limit: int = 1000
    # May change the org's configuration: the till's flag, or the client's for a token.
    admin: bool = False

    @property
    def masks_psi(self) -> bool:
        """PSI values are shown as ***** to this caller (org masks, caller lacks PSI_VIEW)."""
        return self.psi_masking and not self.psi_view

    # Names the credential for rate limits: one budget per till or per client (set
    # once here: every request's budget key holds it).
    credential: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        credential = (
            f"client:{self.client_id}" if self.client_id is not None else f"till:{self.till_id}"
        )
        object.__setattr__(self, "credential", credential)

    def till_audit(self) -> dict[str, str | int]:
        return {"code": self.till_code, "name": self.till_name, "id": self.till_id}


@dataclass(slots=True)  # not frozen: built for every request (frozen costs 4x)
class Credentials:
    """What a request presents to say who it is, and where it comes from."""

    token: str | None  # X-CAP-API-OAUTH-TOKEN
    authorization: str | None  # Authorization
    source: str  # the client's address: failed logins are budgeted per source

    @property
    def cache_key(self) -> str | None:
        """Names these credentials from this source (None: there are none)."""
        if self.token:
            return f"token:{self.source}:{self.token}"
        if self.authorization:
            return f"authorization:{self.source}:{self.authorization}"
        return None


class TokenRequest(Schema):
    key: str = Field(min_length=1, max_length=200, description="The OAuth client's key.")
    secret: str = Field(min_length=1, max_length=500, description="The OAuth client's secret.")


class TokenData(Schema):
    access_token: str = Field(alias="accessToken", description="JWT for X-CAP-API-OAUTH-TOKEN.")
    ttl_seconds: int = Field(alias="ttlSeconds", description="Seconds until the token expires.")


class TokenResponse(Schema):
    data: TokenData
    errors: None = None
