"""The standard events library: events an org enables instead of defining them.

Each entry is a definition eventrail knows in advance (its name, label, category,
eventType, actions and fields, the fields in a definition request's spelling, checked by
``fields.normalize_field`` like any other), and the standard adapter mapping a
WebEngage payload of the event gets with ``use_standard_adapter_mappings=true``.
docs/standard-events.md describes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STANDARD_EVENT_TYPES = ("PRODUCTEVENT", "COUPONEVENT", "CUSTOMEREVENT", "APPEVENT")
# The event-name key of a WebEngage payload (its standard adapter mapping reads it).
WEBENGAGE_NAME_PATH = "eventName"


def _customer(**attrs: str) -> dict[str, Any]:
    attributes = {
        "identifierType": {"value": "mobile"},
        **{k: {"value": v} for k, v in attrs.items()},
    }
    return {"name": "customer", "type": "customer", "attributes": attributes}


def _field(name: str, type_: str, **attrs: str) -> dict[str, Any]:
    return {"name": name, "type": type_, "attributes": {k: {"value": v} for k, v in attrs.items()}}


@dataclass(frozen=True, slots=True)
class StandardEvent:
    event_name: str
    label: str
    category: str
    event_type: str
    description: str
    fields: tuple[dict[str, Any], ...]
    webengage_name: str  # the event's name in a WebEngage payload
    # event field -> dotted path in a WebEngage payload
    webengage_fields: tuple[tuple[str, str], ...]
    actions: tuple[str, ...] = ("EIConsumer",)


def _product(*extra: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    return (
        _customer(),
        _field("productSku", "productSku", isRequired="true"),
        _field("productName", "string"),
        _field("productBrand", "productBrand"),
        _field("productCategory", "productCategory"),
        _field("price", "double"),
        *extra,
    )


_WE_CUSTOMER = (("customer", "userId"),)
_WE_PRODUCT = (
    *_WE_CUSTOMER,
    ("productSku", "eventData.sku"),
    ("productName", "eventData.name"),
    ("productBrand", "eventData.brand"),
    ("productCategory", "eventData.category"),
    ("price", "eventData.price"),
)
_CART = (_field("quantity", "integer"), _field("cartId", "string"))
_WE_CART = (*_WE_PRODUCT, ("quantity", "eventData.quantity"), ("cartId", "eventData.cartId"))
_CHANNEL = _field("channel", "string")
_APP = (
    _customer(),
    _field("platform", "enum", possibleValues="android,ios,web"),
    _field("appVersion", "string"),
)
_WE_APP = (
    *_WE_CUSTOMER,
    ("platform", "eventData.platform"),
    ("appVersion", "eventData.appVersion"),
)

STANDARD_EVENTS: tuple[StandardEvent, ...] = (
    StandardEvent(
        "ProductAddedToCart",
        "Product Added To Cart",
        "Cart",
        "PRODUCTEVENT",
        "A customer put a product in the cart",
        _product(*_CART),
        "Added To Cart",
        _WE_CART,
    ),
    StandardEvent(
        "ProductRemovedFromCart",
        "Product Removed From Cart",
        "Cart",
        "PRODUCTEVENT",
        "A customer took a product out of the cart",
        _product(*_CART),
        "Removed From Cart",
        _WE_CART,
    ),
    StandardEvent(
        "ProductViewed",
        "Product Viewed",
        "Product",
        "PRODUCTEVENT",
        "A customer opened a product's page",
        _product(),
        "Product - Page Viewed",
        _WE_PRODUCT,
    ),
    StandardEvent(
        "CategoryViewed",
        "Category Viewed",
        "Product",
        "PRODUCTEVENT",
        "A customer opened a category's page",
        (_customer(), _field("productCategory", "productCategory", isRequired="true")),
        "Category Viewed",
        (*_WE_CUSTOMER, ("productCategory", "eventData.category")),
    ),
    StandardEvent(
        "ProductSearched",
        "Product Searched",
        "Product",
        "PRODUCTEVENT",
        "A customer searched the catalogue",
        (
            _customer(),
            _field("searchTerm", "string", isRequired="true"),
            _field("resultCount", "integer"),
        ),
        "Product Searched",
        (
            *_WE_CUSTOMER,
            ("searchTerm", "eventData.keyword"),
            ("resultCount", "eventData.resultCount"),
        ),
    ),
    StandardEvent(
        "CouponApplied",
        "Coupon Applied",
        "Coupon",
        "COUPONEVENT",
        "A coupon was accepted on a customer's cart",
        (
            _customer(),
            _field("couponCode", "couponCode", isRequired="true"),
            _field("cartId", "string"),
            _field("cartValue", "double"),
        ),
        "Coupon Code Applied",
        (
            *_WE_CUSTOMER,
            ("couponCode", "eventData.couponCode"),
            ("cartId", "eventData.cartId"),
            ("cartValue", "eventData.cartValue"),
        ),
    ),
    StandardEvent(
        "CouponDenied",
        "Coupon Denied",
        "Coupon",
        "COUPONEVENT",
        "A coupon was refused on a customer's cart",
        (
            _customer(),
            _field("couponCode", "couponCode", isRequired="true"),
            _field("reason", "string"),
        ),
        "Coupon Code Failed",
        (*_WE_CUSTOMER, ("couponCode", "eventData.couponCode"), ("reason", "eventData.reason")),
    ),
    StandardEvent(
        "CustomerRegistered",
        "Customer Registered",
        "Customer",
        "CUSTOMEREVENT",
        "A customer signed up (registered when not known yet)",
        (_customer(addCustomerIfNotExists="true"), _CHANNEL),
        "User Signed Up",
        (*_WE_CUSTOMER, ("channel", "eventData.channel")),
    ),
    StandardEvent(
        "CustomerLoggedIn",
        "Customer Logged In",
        "Customer",
        "CUSTOMEREVENT",
        "A customer logged in",
        (_customer(), _CHANNEL),
        "User Logged In",
        (*_WE_CUSTOMER, ("channel", "eventData.channel")),
    ),
    StandardEvent(
        "CustomerLoggedOut",
        "Customer Logged Out",
        "Customer",
        "CUSTOMEREVENT",
        "A customer logged out",
        (_customer(), _CHANNEL),
        "User Logged Out",
        (*_WE_CUSTOMER, ("channel", "eventData.channel")),
    ),
    StandardEvent(
        "AppInstalled",
        "App Installed",
        "App",
        "APPEVENT",
        "A customer installed the brand's app",
        _APP,
        "App Installed",
        _WE_APP,
    ),
    StandardEvent(
        "AppUninstalled",
        "App Uninstalled",
        "App",
        "APPEVENT",
        "A customer removed the brand's app",
        _APP,
        "App Uninstalled",
        _WE_APP,
    ),
)
_BY_KEY = {
    key: event
    for event in STANDARD_EVENTS
    for key in (event.event_name.lower(), event.label.lower())
}


def find(name: str) -> StandardEvent | None:
    """The standard event named ``name`` (its eventName or its label, any case)."""
    return _BY_KEY.get(name.strip().lower())


def webengage_field_mappings(event: StandardEvent) -> list[dict[str, str]]:
    return [{"eventFieldName": dst, "fieldName": src} for dst, src in event.webengage_fields]
