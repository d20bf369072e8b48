"""Event field types and attributes: checking a definition, and checking a value.

A definition's field, as Capillary stores it::

    {"name": "customer", "type": "CUSTOMER",
     "attributes": {"identifierType": {"value": "mobile", "valueType": "ENUM"}, ...}}

:func:`parse_field` turns that into a :class:`FieldSpec` the pipeline can use
without looking at strings again; :func:`check_value` validates one posted value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import re2

from eventrail.customers.lookup import IDENTIFIER_TYPES, SOURCES
from eventrail.events.exceptions import InvalidFieldAttribute, InvalidFieldType
from eventrail.kit.dates import parse_event_datetime
from eventrail.kit.values import (
    ValueRefused,
    boolean_text,
    double_text,
    integer_text,
    string_text,
)


@dataclass(frozen=True, slots=True)
class AttributeRule:
    """One attribute a field may carry: how Capillary types its value, the value a
    field without it gets, and the values it may take (empty: any text)."""

    name: str
    value_type: str  # BOOLEAN, STRING or ENUM, as Capillary stores it
    default: str | None
    possible_values: tuple[str, ...]
    description: str


@dataclass(frozen=True, slots=True)
class FieldTypeRule:
    """One field type: its request spelling, stored spelling, label and the
    attributes a field of the type may carry (any other is refused with 1802)."""

    request: str
    stored: str
    label: str
    attributes: tuple[str, ...]
    description: str


_BOOLEAN_VALUES = ("true", "false")
GROUP_IDENTIFIER_VALUES = ("GroupExternalId", "GroupId")
IDENTIFIER_VALUES = (*IDENTIFIER_TYPES.values(), "userId")
MAX_STRING = 64 * 1024
# The column sizes a definition's attributes are stored or compared against.
MAX_ACCOUNT_ID = 100

# THE rules of a field's attributes: normalize_field checks a definition with these
# tables, and GET /v2/events/meta_fields (catalogue()) shows them, so the two cannot
# disagree.
ATTRIBUTE_RULES: dict[str, AttributeRule] = {
    rule.name: rule
    for rule in (
        AttributeRule(
            "isRequired",
            "BOOLEAN",
            "false",
            _BOOLEAN_VALUES,
            "A post without a value for the field fails (default true on the customer field)",
        ),
        AttributeRule(
            "isUniqueKeyField",
            "BOOLEAN",
            "false",
            _BOOLEAN_VALUES,
            "Part of the event's unique key; forces isRequired and cannot be reverted",
        ),
        AttributeRule(
            "isPsiData",
            "BOOLEAN",
            "false",
            _BOOLEAN_VALUES,
            "Personal data: listed in psiAttributes, masked for callers without PSI access",
        ),
        AttributeRule(
            "addCustomerIfNotExists",
            "BOOLEAN",
            "false",
            _BOOLEAN_VALUES,
            "Register the customer when no customer has the identifier",
        ),
        AttributeRule(
            "regex",
            "STRING",
            None,
            (),
            "A pattern (RE2 syntax) the whole value must match",
        ),
        AttributeRule(
            "possibleValues",
            "STRING",
            None,
            (),
            "The values allowed, comma-separated (required on an enum field)",
        ),
        AttributeRule(
            "identifierType",
            "ENUM",
            "mobile",
            IDENTIFIER_VALUES,
            "The customer identifier the value is",
        ),
        AttributeRule("source", "ENUM", "INSTORE", SOURCES, "The source of the identifier"),
        AttributeRule(
            "accountId",
            "ENUM",
            None,
            (),
            f"The account of a multi-account source (at most {MAX_ACCOUNT_ID} characters)",
        ),
        AttributeRule(
            "groupIdentifierType",
            "ENUM",
            "GroupExternalId",
            GROUP_IDENTIFIER_VALUES,
            "What the value names: a group's external id or its id",
        ),
    )
}
# attribute -> valueType, as Capillary stores them
ATTRIBUTES = {name: rule.value_type for name, rule in ATTRIBUTE_RULES.items()}

_COMMON = ("isRequired", "isUniqueKeyField")
_CUSTOMER_ATTRIBUTES = ("identifierType", "source", "accountId")
FIELD_TYPE_RULES: tuple[FieldTypeRule, ...] = (
    FieldTypeRule(
        "customer",
        "CUSTOMER",
        "Customer Identifier",
        (*_COMMON, *_CUSTOMER_ATTRIBUTES, "addCustomerIfNotExists"),
        "The customer the event is about; exactly one per event",
    ),
    FieldTypeRule(
        "tillCode", "TILLCODE", "Till Code", _COMMON, "A till code; overrides the webhook's till"
    ),
    FieldTypeRule(
        "groupId",
        "GROUPID",
        "Group ID",
        (*_COMMON, "groupIdentifierType", *_CUSTOMER_ATTRIBUTES),
        "A user group the customer must belong to",
    ),
    FieldTypeRule("string", "STRING", "String", (*_COMMON, "isPsiData", "regex"), "Text"),
    FieldTypeRule(
        "double", "DOUBLE", "Double", (*_COMMON, "isPsiData"), "A decimal number, stored as text"
    ),
    FieldTypeRule("integer", "INTEGER", "Integer", _COMMON, "A whole number"),
    FieldTypeRule("boolean", "BOOLEAN", "Boolean", _COMMON, "true or false"),
    FieldTypeRule(
        "enum",
        "ENUM",
        "Enum",
        (*_COMMON, "isPsiData", "possibleValues"),
        "One of the field's possibleValues",
    ),
    FieldTypeRule("date", "DATE", "Date", _COMMON, "A date, e.g. yyyy-MM-dd HH:mm:ss"),
    FieldTypeRule("couponCode", "COUPONCODE", "Coupon Code", (*_COMMON, "regex"), "A coupon code"),
    FieldTypeRule("productSku", "PRODUCTSKU", "Product SKU", (*_COMMON, "regex"), "A product SKU"),
    FieldTypeRule(
        "productBrand", "PRODUCTBRAND", "Product Brand", (*_COMMON, "regex"), "A product brand"
    ),
    FieldTypeRule(
        "productCategory",
        "PRODUCTCATEGORY",
        "Product Category",
        (*_COMMON, "regex"),
        "A product category",
    ),
)
TYPE_RULES = {rule.stored: rule for rule in FIELD_TYPE_RULES}
# request spelling (case-insensitive) -> stored spelling
FIELD_TYPES = {rule.request.lower(): rule.stored for rule in FIELD_TYPE_RULES}
PSI_TYPES = frozenset(r.stored for r in FIELD_TYPE_RULES if "isPsiData" in r.attributes)
GROUP_IDENTIFIER_TYPES = {value.lower(): value for value in GROUP_IDENTIFIER_VALUES}


def catalogue() -> list[dict[str, Any]]:
    """Every field type with the attributes it takes, from the rules above."""
    out = []
    for rule in FIELD_TYPE_RULES:
        attributes = []
        for name in rule.attributes:
            attr = ATTRIBUTE_RULES[name]
            default = attr.default
            if name == "isRequired" and rule.stored == "CUSTOMER":
                default = "true"
            attributes.append(
                {
                    "name": name,
                    "valueType": attr.value_type,
                    "defaultValue": default,
                    "possibleValues": list(attr.possible_values),
                    "description": attr.description,
                }
            )
        out.append(
            {
                "type": rule.request,
                "storedType": rule.stored,
                "label": rule.label,
                "description": rule.description,
                "attributes": attributes,
            }
        )
    return out


class Pattern(Protocol):
    """A compiled ``regex`` attribute (RE2's; re2 ships no type information)."""

    pattern: str

    def fullmatch(self, text: str) -> object | None: ...


def _re2_options() -> Any:
    options = re2.Options()
    options.log_errors = False  # a refused pattern is the tenant's, not the server's, error
    options.never_capture = True  # only "does it match" is asked: no submatches to track
    return options


_RE2_OPTIONS = _re2_options()


def compile_pattern(text: str) -> tuple[Pattern | None, str | None]:
    """(pattern, None), or (None, why RE2 refuses it).

    Tenants' patterns run in RE2, which matches in time linear in the value (no
    backtracking), so no pattern can hold a processor: ``^(a+)+$`` is as fast as
    ``^a+$``. RE2 refuses what it cannot run that way (backreferences, lookaround,
    possessive quantifiers, repetitions over 1000, programs over its memory budget).
    """
    try:
        compiled: Pattern = re2.compile(text, _RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "refused"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        return None, str(reason)
    return compiled, None


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    type: str
    required: bool = False
    unique: bool = False
    psi: bool = False
    regex: Pattern | None = None
    # A stored regex RE2 refuses (saved before patterns were checked by RE2): values
    # of the field fail validation with this reason instead of being matched.
    regex_error: str | None = None
    possible_values: frozenset[str] = field(default_factory=frozenset)
    identifier_type: str = "mobile"
    source: str = "INSTORE"
    account_id: str = ""
    add_if_missing: bool = False
    group_identifier_type: str = "GroupExternalId"


def _attribute_value(name: str, raw: Any) -> str | None:
    """An attribute given as {"value": .., "valueType": ..} or as a plain value."""
    value = raw.get("value") if isinstance(raw, dict) else raw
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise InvalidFieldAttribute(f"field attribute value fails for validation type {name}")


def _checked_value(attr: AttributeRule, value: str, field_name: str) -> str:
    """The attribute's value as stored, or 1802 when its rule refuses it."""
    if not attr.possible_values:
        return value
    known = {v.lower(): v for v in attr.possible_values}
    found = known.get(value.lower())
    if found is None:
        raise InvalidFieldAttribute(
            f"field attribute value {value} fails for validation type {attr.name} "
            f"(field {field_name}): must be one of {', '.join(attr.possible_values)}"
        )
    # booleans are stored lower-case; the other words keep the spelling they were given
    return found if attr.value_type == "BOOLEAN" else value


def normalize_field(raw: dict[str, Any]) -> dict[str, Any]:
    """A request's field, checked against FIELD_TYPE_RULES and ATTRIBUTE_RULES, in
    Capillary's stored shape."""
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 50:
        raise InvalidFieldAttribute("field name must be 1 to 50 characters")
    name = name.strip()
    if name in {"event_name", "eventDateTime", "orgResolver"}:
        raise InvalidFieldAttribute(f"field name {name} is reserved")
    type_in = raw.get("type")
    stored_type = FIELD_TYPES.get(type_in.lower()) if isinstance(type_in, str) else None
    if stored_type is None:
        raise InvalidFieldType(f"{type_in} invalid event field type")
    type_rule = TYPE_RULES[stored_type]
    attributes_in = raw.get("attributes") or {}
    if not isinstance(attributes_in, dict):
        raise InvalidFieldAttribute(f"attributes of field {name} must be an object")
    attributes: dict[str, dict[str, str]] = {}
    for attr, value_in in attributes_in.items():
        if attr not in type_rule.attributes:
            raise InvalidFieldAttribute(
                f"field attribute {attr} is not supported on a {type_rule.request} field "
                f"(field {name}); it takes {', '.join(type_rule.attributes)}"
            )
        rule = ATTRIBUTE_RULES[attr]
        value = _attribute_value(attr, value_in)
        if value is None:
            attributes[attr] = {"valueType": rule.value_type}
            continue
        value = _checked_value(rule, value, name)
        attributes[attr] = {"value": value, "valueType": rule.value_type}
    normalized = {"name": name, "type": stored_type, "attributes": attributes}
    spec = parse_field(normalized)  # raises on inconsistent attributes
    if spec.regex_error is not None:
        raise InvalidFieldAttribute(
            f"field attribute value fails for validation type regex (field {name}): "
            f"{spec.regex_error}; patterns use RE2 syntax (no backreferences or lookaround)",
        )
    if len(spec.account_id) > MAX_ACCOUNT_ID:
        raise InvalidFieldAttribute(
            f"field attribute value fails for validation type accountId (field {name}): "
            f"longer than {MAX_ACCOUNT_ID} characters",
        )
    if stored_type == "ENUM" and not spec.possible_values:
        raise InvalidFieldAttribute(f"enum field {name} needs possibleValues (comma-separated)")
    if spec.unique and not spec.required:
        # isUniqueKeyField forces isRequired (as in Capillary).
        attributes["isRequired"] = {"value": "true", "valueType": "BOOLEAN"}
    return normalized


def _flag(attributes: dict[str, Any], name: str, default: bool) -> bool:
    item = attributes.get(name) or {}
    value = item.get("value")
    return default if value is None else value == "true"


def _text(attributes: dict[str, Any], name: str, default: str) -> str:
    item = attributes.get(name) or {}
    value = item.get("value")
    return default if value is None or value == "" else str(value)


def parse_field(stored: dict[str, Any]) -> FieldSpec:
    attributes: dict[str, Any] = stored.get("attributes") or {}
    type_ = stored["type"]
    regex_text = _text(attributes, "regex", "")
    regex, regex_error = compile_pattern(regex_text) if regex_text else (None, None)
    possible = _text(attributes, "possibleValues", "")
    group_type = _text(attributes, "groupIdentifierType", "GroupExternalId")
    return FieldSpec(
        name=stored["name"],
        type=type_,
        required=_flag(attributes, "isRequired", type_ == "CUSTOMER"),
        unique=_flag(attributes, "isUniqueKeyField", False),
        psi=_flag(attributes, "isPsiData", False),
        regex=regex,
        regex_error=regex_error,
        possible_values=frozenset(v.strip() for v in possible.split(",") if v.strip()),
        identifier_type=_identifier_type(_text(attributes, "identifierType", "mobile")),
        source=_text(attributes, "source", "INSTORE").upper(),
        account_id=_text(attributes, "accountId", ""),
        add_if_missing=_flag(attributes, "addCustomerIfNotExists", False),
        group_identifier_type=GROUP_IDENTIFIER_TYPES.get(group_type.lower(), group_type),
    )


_IDENTIFIER_SPELLING = {value.lower(): value for value in IDENTIFIER_VALUES}


def _identifier_type(value: str) -> str:
    return _IDENTIFIER_SPELLING.get(value.lower(), value)


_TYPED = {"DOUBLE": double_text, "INTEGER": integer_text, "BOOLEAN": boolean_text}


def check_value(spec: FieldSpec, raw: Any) -> tuple[Any, str | None]:
    """(stored value, None) or (None, why it is invalid), for a non-empty value."""
    if isinstance(raw, dict | list):
        return None, "expected a single value, not an object or a list"
    t = spec.type
    typed = _TYPED.get(t)
    if typed is not None:
        try:
            return typed(raw), None
        except ValueRefused as refused:
            return None, refused.reason
    text = string_text(raw)
    if len(text) > MAX_STRING:
        return None, f"longer than {MAX_STRING} characters"
    if t == "DATE":
        if parse_event_datetime(raw) is None:
            return None, "not a date in a supported format (e.g. yyyy-MM-dd HH:mm:ss)"
        return text, None
    if t == "ENUM" and text not in spec.possible_values:
        return None, f"must be one of {', '.join(sorted(spec.possible_values))}"
    if spec.regex_error is not None:
        return None, (
            f"the definition's regex is refused by the pattern engine ({spec.regex_error}); "
            "correct the definition"
        )
    if spec.regex is not None and not spec.regex.fullmatch(text):
        return None, f"does not match {spec.regex.pattern}"
    return text, None


def is_empty(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())
