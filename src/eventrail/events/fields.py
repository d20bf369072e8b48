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

from eventrail.events.exceptions import InvalidFieldAttribute, InvalidFieldType
from eventrail.kit.dates import parse_event_datetime
from eventrail.kit.values import (
    ValueRefused,
    boolean_text,
    double_text,
    integer_text,
    string_text,
)

# request spelling (case-insensitive) -> stored spelling
FIELD_TYPES = {
    name.lower(): stored
    for name, stored in (
        ("customer", "CUSTOMER"),
        ("tillCode", "TILLCODE"),
        ("groupId", "GROUPID"),
        ("string", "STRING"),
        ("double", "DOUBLE"),
        ("integer", "INTEGER"),
        ("boolean", "BOOLEAN"),
        ("enum", "ENUM"),
        ("date", "DATE"),
        ("couponCode", "COUPONCODE"),
        ("productSku", "PRODUCTSKU"),
        ("productBrand", "PRODUCTBRAND"),
        ("productCategory", "PRODUCTCATEGORY"),
    )
}
# attribute -> valueType, as Capillary stores them
ATTRIBUTES = {
    "isRequired": "BOOLEAN",
    "isUniqueKeyField": "BOOLEAN",
    "isPsiData": "BOOLEAN",
    "addCustomerIfNotExists": "BOOLEAN",
    "regex": "STRING",
    "possibleValues": "STRING",
    "identifierType": "ENUM",
    "source": "ENUM",
    "accountId": "ENUM",
    "groupIdentifierType": "ENUM",
}
_BOOLEANS = {"true": True, "false": False}
PSI_TYPES = frozenset({"STRING", "ENUM", "DOUBLE"})
GROUP_IDENTIFIER_TYPES = {"groupexternalid": "GroupExternalId", "groupid": "GroupId"}
MAX_STRING = 64 * 1024
# The column sizes a definition's attributes are stored or compared against.
MAX_ACCOUNT_ID = 100


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


def normalize_field(
    raw: dict[str, Any], *, sources: tuple[str, ...], identifier_types: dict[str, str]
) -> dict[str, Any]:
    """A request's field, checked, in Capillary's stored shape."""
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
    attributes_in = raw.get("attributes") or {}
    if not isinstance(attributes_in, dict):
        raise InvalidFieldAttribute(f"attributes of field {name} must be an object")
    attributes: dict[str, dict[str, str]] = {}
    for attr, value_in in attributes_in.items():
        if attr not in ATTRIBUTES:
            raise InvalidFieldAttribute(f"field attribute {attr} is not supported (field {name})")
        value = _attribute_value(attr, value_in)
        if value is None:
            attributes[attr] = {"valueType": ATTRIBUTES[attr]}
            continue
        if ATTRIBUTES[attr] == "BOOLEAN":
            if value.lower() not in _BOOLEANS:
                raise InvalidFieldAttribute(
                    f"field attribute value {value} fails for validation type {attr}"
                )
            value = value.lower()
        attributes[attr] = {"value": value, "valueType": ATTRIBUTES[attr]}
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
    if spec.psi and (stored_type not in PSI_TYPES):
        raise InvalidFieldAttribute(
            f"field attribute value fails for validation type isPsiData (field {name})"
        )
    if stored_type == "CUSTOMER":
        if (
            spec.identifier_type not in identifier_types.values()
            and spec.identifier_type != "userId"
        ):
            raise InvalidFieldAttribute(
                f"field attribute value {spec.identifier_type} fails for validation type "
                "identifierType",
            )
        if spec.source not in sources:
            raise InvalidFieldAttribute(
                f"field attribute value {spec.source} fails for validation type source"
            )
    group_type = (attributes.get("groupIdentifierType") or {}).get("value")
    if group_type is not None and group_type.lower() not in GROUP_IDENTIFIER_TYPES:
        raise InvalidFieldAttribute(
            f"field attribute value {group_type} fails for validation type groupIdentifierType "
            "(GroupExternalId or GroupId)",
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


def _identifier_type(value: str) -> str:
    known = {
        "mobile": "mobile",
        "email": "email",
        "externalid": "externalId",
        "userid": "userId",
        "cardnumber": "cardnumber",
        "cardexternalid": "cardExternalId",
        "wechat": "wechat",
        "martjackid": "martjackId",
        "cuid": "cuid",
        "fbid": "fbId",
        "unionid": "unionId",
        "fcmtoken": "fcmToken",
        "line": "line",
    }
    return known.get(value.lower(), value)


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
