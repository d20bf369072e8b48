from __future__ import annotations

from fastapi import APIRouter, Request

from eventrail.auth.schemas import TokenData, TokenRequest, TokenResponse
from eventrail.deps import Session

router = APIRouter(tags=["auth"])


@router.post(
    "/v3/oauth/token/generate",
    response_model=TokenResponse,
    summary="Generate an OAuth access token from a client key and secret",
)
def generate_token(body: TokenRequest, session: Session, request: Request) -> TokenResponse:
    source = request.client.host if request.client else "unknown"
    authenticator = request.app.state.authenticator
    token, ttl = authenticator.issue_token(session, body.key, body.secret, source)
    return TokenResponse(data=TokenData(access_token=token, ttl_seconds=ttl))
