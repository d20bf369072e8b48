"""Card errors, with Capillary's card codes (Capillary's cards documentation)."""

from __future__ import annotations

from eventrail.errors import BadRequest, NotFound


class InvalidSeries(BadRequest):
    code = 3000
    message = "Invalid card series."


class SeriesNotFound(BadRequest):
    code = 3004
    message = "Series does not exist."


class CardExists(BadRequest):
    code = 3009
    message = "Card number exists."


class CardNotFound(NotFound):
    code = 3010
    message = "Card number does not exists."


class InvalidCardLabel(BadRequest):
    code = 3017
    message = "Status label invalid."


class CardNotLinkable(BadRequest):
    code = 3027
    message = "Card is not linkable."


class CardLocked(BadRequest):
    code = 8087

    def __init__(self, status: str) -> None:
        super().__init__(f"Card is {status}, not allowed to do any further actions")


# The card's holder. The customer API raises them too and re-exports them
# (customers depends on cards, never the reverse: docs/architecture.md).


class CustomerExists(BadRequest):
    """An identifier would belong to two customers of one source: refused."""

    code = 8006

    def __init__(self, existing_id: int, *, action: str = "Add") -> None:
        super().__init__(
            f"{action} failed, Customer already exists with id {existing_id} for same source"
        )


class CustomerNotFound(NotFound):
    code = 8015
    message = "Customer not found for the given identifiers"


class MergedCustomer(BadRequest):
    code = 8069

    def __init__(self, survivor_id: int) -> None:
        super().__init__(f"Merged customer found: merged into customer {survivor_id}")
