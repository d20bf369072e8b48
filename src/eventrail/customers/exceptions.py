"""Customer errors, with Capillary's codes (Capillary's customer status codes)."""

from __future__ import annotations

from eventrail.cards.exceptions import CustomerExists as CustomerExists
from eventrail.cards.exceptions import CustomerNotFound as CustomerNotFound
from eventrail.cards.exceptions import MergedCustomer as MergedCustomer
from eventrail.errors import BadRequest, NotFound


class InvalidSource(BadRequest):
    code = 8003
    message = "Invalid source passed"


class NoValidIdentifiers(BadRequest):
    code = 8005
    message = "Add failed, No valid identifiers passed"


class SameSourceOtherProfile(BadRequest):
    code = 8008
    message = (
        "Update failed, Same source different profile found for given identifiers: the "
        "customer already holds other values of these identifier types in that source"
    )


class InvalidCommChannel(BadRequest):
    code = 8010
    message = "Invalid communication channel passed"


class InvalidIdentifierName(BadRequest):
    code = 8013
    message = "Lookup, Invalid identifier passed"


class InvalidIdentifier(BadRequest):
    code = 8014

    def __init__(self, detail: str) -> None:
        super().__init__(f"Error in customer registration: Invalid Primary Id - {detail}")


class LoyaltyDowngrade(BadRequest):
    code = 8018
    message = "Update customer, Conversion from loyalty to non-loyalty not allowed"


class ConflictingCustomers(BadRequest):
    code = 8052
    message = "Add customer, Conflicting Customers found"


class NoChangeIdentifiers(BadRequest):
    code = 8070
    message = "No valid change identifiers detected"


class InvalidStatusLabel(BadRequest):
    code = 8086
    message = "Status label passed is not valid"


class OldValueInvalid(BadRequest):
    code = 9012


class InvalidChannel(BadRequest):
    code = 1101


class InvalidPriority(BadRequest):
    code = 1102


class InvalidSubscriptionStatus(BadRequest):
    code = 1106


# -- merge requests (POST /v2/requests) --------------------------------------------
class InvalidRequestType(BadRequest):
    code = 9006
    message = "Request Type is invalid"


class InvalidRequestBaseType(BadRequest):
    code = 9008
    message = "Request Base Type is invalid"


class MergeTargetInvalid(BadRequest):
    code = 9007
    message = "Target customer is not Existing or Invalid"


class MergeIdentifiersMissing(BadRequest):
    code = 9019
    message = "No customer identifiers passed"


class MergePendingForVictim(BadRequest):
    code = 9018
    message = "Request for Merge already exists for the victim in pending or processing state"


class MergePendingForSurvivor(BadRequest):
    code = 9026
    message = "Request for Merge already exists for the survivor in pending or processing state"


class SurvivorMerged(BadRequest):
    code = 9023
    message = "Survivor is already merged to another user as victim"


class VictimMerged(BadRequest):
    code = 9027
    message = "Victim is already merged to another user"


class SameSurvivorAndVictim(BadRequest):
    code = 9029
    message = "Survivor and victim are same"


class RequestNotFound(NotFound):
    code = 9050
    message = "Request not found"
