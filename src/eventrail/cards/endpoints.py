from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from eventrail.cards import service
from eventrail.cards.schemas import CardCreate, CardCreated, CardOut, CardUpdate
from eventrail.deps import Change, CurrentCaller, Session

router = APIRouter(tags=["cards"])


@router.post("/v2/card", response_model=CardCreated, summary="Add a card to a series")
def add_card(body: CardCreate, change: Change, session: Session) -> CardCreated:
    return CardCreated(entity=service.add_card(session, change, body).id)


@router.put(
    "/v2/card",
    summary="Update a card's status label, fields or mapped entity",
    response_model=None,
    responses={200: {"model": CardOut}},
)
def update_card(
    body: CardUpdate, change: Change, caller: CurrentCaller, session: Session
) -> dict[str, Any]:
    card, warnings = service.update_card(session, change, body)
    return service.card_view(session, card, caller.org_timezone, warnings, mask=caller.masks_psi)


@router.get(
    "/v2/card",
    summary="A card by number",
    response_model=None,
    responses={200: {"model": CardOut}},
)
def get_card(
    caller: CurrentCaller,
    session: Session,
    number: str = Query(min_length=1, max_length=100, description="The card number"),
) -> dict[str, Any]:
    card = service.get_card(session, caller.org_id, number)
    return service.card_view(session, card, caller.org_timezone, mask=caller.masks_psi)
