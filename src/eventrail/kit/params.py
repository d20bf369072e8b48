"""Each parameter of a fast-lane route described once: the same object parses the
request's value (or refuses it with a 400 naming the parameter) and writes the
parameter's OpenAPI object, so the document cannot say one thing while the
handler enforces another.

A route declares its parameters as a :class:`Params`; ``parse`` returns the values
by their Python names (``params.parse(request.query)`` -> ``{"limit": 10, ...}``),
checked in the order declared; ``openapi()`` is the route's ``parameters`` list.
The messages are the ones FastAPI gives for its own routes; integers and booleans
are read by the one rule both transports share (``kit.requests.query_int`` /
``query_bool``, refused in ``refuse_query_value``'s words).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any

from eventrail.errors import BadRequest
from eventrail.kit.dates import DATE_FORMATS_HELP
from eventrail.kit.requests import (
    FALSE_WORDS,
    TRUE_WORDS,
    QueryValueError,
    query_bool,
    query_int,
    refuse_query_value,
)

LONG_MAX = 2**63 - 1

# The value of each word query_bool accepts, for Bool's inline lookup.
BOOLEAN_WORDS = {**dict.fromkeys(TRUE_WORDS, True), **dict.fromkeys(FALSE_WORDS, False)}


class Param(ABC):
    """One query (or path) parameter: its name, what it accepts, its default and
    what the document says about it. Subclasses implement ``convert`` and ``schema``."""

    __slots__ = ("default", "description", "in_", "key", "late", "name", "required")

    def __init__(
        self,
        name: str,
        description: str,
        *,
        default: Any = None,
        required: bool = False,
        key: str | None = None,
        in_: str = "query",
    ) -> None:
        self.name = name
        self.key = key or name
        self.description = description
        self.default = default
        self.required = required or in_ == "path"
        self.in_ = in_
        self.late = False

    @abstractmethod
    def convert(self, raw: str) -> Any:
        """The value of the text sent, or a 400 naming the parameter."""

    def fast_path(self, table: str) -> tuple[str, Any] | None:
        """For ``Params`` to write inline: an expression giving the value of the text
        in ``raw`` that ``convert`` would give, or ``None`` where ``convert`` must
        decide (it then refuses, or accepts what the expression leaves to it); and
        the object the expression names as ``table``. ``None``: always call
        ``convert``."""
        return None

    @abstractmethod
    def schema(self) -> dict[str, Any]:
        """The parameter's JSON schema in the OpenAPI document."""

    def check_late(self, value: Any) -> Any:
        """The part of the check made after every parameter's ``convert``."""
        return value

    def invalid(self, detail: str) -> BadRequest:
        where = "path" if self.in_ == "path" else "query"
        return BadRequest(f"Invalid value for {where} parameter '{self.name}': {detail}")

    def refuse(self, exc: QueryValueError) -> BadRequest:
        """A value refused by ``kit.requests``' rule, in its words."""
        if self.in_ == "query":
            return refuse_query_value(self.name, exc)
        return self.invalid(exc.reason)

    def openapi(self) -> dict[str, Any]:
        schema = self.schema()
        if self.default is not None:
            schema.setdefault("default", self.default)
        return {
            "name": self.name,
            "in": self.in_,
            "required": self.required,
            "schema": schema,
            "description": self.description,
        }


class Str(Param):
    """Text up to ``max_length`` characters (taken as sent, not stripped)."""

    __slots__ = ("max_length", "message", "min_length")

    def __init__(
        self,
        name: str,
        max_length: int,
        description: str,
        *,
        min_length: int = 0,
        message: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name, description, **kwargs)
        self.max_length = max_length
        self.min_length = min_length
        self.message = message or f"String should have at most {max_length} characters"

    def convert(self, raw: str) -> Any:
        if not self.min_length <= len(raw) <= self.max_length:
            raise self.invalid(self.message)
        return raw

    def fast_path(self, table: str) -> tuple[str, Any] | None:
        low, high = int(self.min_length), int(self.max_length)
        if low:
            return f"raw if {low} <= len(raw) <= {high} else None", None
        return f"raw if len(raw) <= {high} else None", None

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string", "maxLength": self.max_length}
        if self.min_length:
            schema["minLength"] = self.min_length
        return schema


class Date(Str):
    """A date as text, up to 64 characters; the handler reads it with
    ``kit.dates.parse_date_range`` in the caller's timezone."""

    __slots__ = ()

    def __init__(self, name: str, description: str, **kwargs: Any) -> None:
        super().__init__(
            name,
            64,
            f"{description}: {DATE_FORMATS_HELP}; without an offset, in the org's timezone",
            **kwargs,
        )


class Int(Param):
    """A decimal integer from ``low`` to ``high``, read by the rule of every integer
    query parameter (``kit.requests.query_int``: ASCII digits, an optional minus sign,
    nothing around them)."""

    __slots__ = ("high", "low")

    def __init__(self, name: str, low: int, high: int, description: str, **kwargs: Any) -> None:
        super().__init__(name, description, **kwargs)
        self.low = low
        self.high = high

    def convert(self, raw: str) -> Any:
        try:
            return query_int(raw, self.low, self.high)
        except QueryValueError as exc:
            raise self.refuse(exc) from None

    def fast_path(self, table: str) -> tuple[str, Any] | None:
        # Plain ASCII digits, short enough for int() and any 64-bit bound: what
        # query_int gives them; anything else (a minus sign, a refusal) is left to it.
        low, high = int(self.low), int(self.high)
        return (
            f"(n if {low} <= (n := int(raw)) <= {high} else None)"
            " if len(raw) <= 18 and raw.isascii() and raw.isdigit() else None"
        ), None

    def schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": self.low, "maximum": self.high}


class PathId(Param):
    """A positive 64-bit id in the path: digits only, as sent."""

    __slots__ = ("what",)

    def __init__(self, name: str, what: str, description: str) -> None:
        super().__init__(name, description, in_="path")
        self.what = what

    def convert(self, raw: str) -> Any:
        # len() first: int() of thousands of digits raises (Python's 4300-digit limit).
        if (
            not (raw.isascii() and raw.isdigit() and len(raw) <= 19)
            or not 1 <= int(raw) <= LONG_MAX
        ):
            raise self.invalid(f"must be {self.what} (a positive 64-bit integer)")
        return int(raw)

    def schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": 1, "maximum": LONG_MAX}


class PathKey(Param):
    """A key in the path, documented by its pattern; the handler's lookup refuses
    one it does not know (404, like a well-formed key nobody has)."""

    __slots__ = ("pattern",)

    def __init__(self, name: str, pattern: str, description: str) -> None:
        super().__init__(name, description, in_="path")
        self.pattern = pattern

    def convert(self, raw: str) -> Any:
        return raw

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": self.pattern}


class Bool(Param):
    """A boolean, read by the rule of every boolean query parameter
    (``kit.requests.query_bool``): one of its words exactly, nothing else (an empty
    value is not false)."""

    __slots__ = ()

    def convert(self, raw: str) -> Any:
        try:
            return query_bool(raw)
        except QueryValueError as exc:
            raise self.refuse(exc) from None

    def fast_path(self, table: str) -> tuple[str, Any] | None:
        return f"{table}.get(raw)", BOOLEAN_WORDS

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string", "enum": [*TRUE_WORDS, *FALSE_WORDS]}
        if self.default is not None:
            schema["default"] = "true" if self.default else "false"
        return schema


class Choice(Param):
    """One of a few words, matched without regard to case or surrounding spaces
    (``choices`` maps the lower-case word to the value given on). Up to ``max_length``
    characters are read; ``late`` checks the word after every other parameter."""

    __slots__ = ("choices", "max_length", "message")

    def __init__(
        self,
        name: str,
        choices: Mapping[str, str] | tuple[str, ...],
        description: str,
        *,
        max_length: int = 40,
        message: str | None = None,
        late: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(name, description, **kwargs)
        self.choices = (
            dict(choices)
            if isinstance(choices, Mapping)
            else {word.lower(): word for word in choices}
        )
        self.max_length = max_length
        allowed = ", ".join(sorted(set(self.choices.values())))
        self.message = message or f"must be one of {allowed}"
        self.late = late

    def convert(self, raw: str) -> Any:
        if len(raw) > self.max_length:
            raise self.invalid(f"String should have at most {self.max_length} characters")
        return raw if self.late else self.check_late(raw)

    def check_late(self, value: Any) -> Any:
        found = self.choices.get(value.strip().lower())
        if found is None:
            raise self.invalid(self.message)
        return found

    def fast_path(self, table: str) -> tuple[str, Any] | None:
        high = int(self.max_length)
        if self.late:
            return f"raw if len(raw) <= {high} else None", None
        return f"{table}.get(raw.strip().lower()) if len(raw) <= {high} else None", self.choices

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": sorted(set(self.choices.values()))}


class ChoiceList(Choice):
    """Comma-separated words of a ``Choice``'s (each matched as ``Choice`` matches
    one); the value is the tuple of the words given on, without repeats."""

    __slots__ = ()

    def check_late(self, value: Any) -> Any:
        words = [word for word in value.split(",") if word.strip()]
        if not words:
            raise self.invalid(self.message)
        return tuple(dict.fromkeys(Choice.check_late(self, word) for word in words))

    def fast_path(self, table: str) -> tuple[str, Any] | None:
        return None

    def schema(self) -> dict[str, Any]:
        words = ", ".join(sorted(set(self.choices.values())))
        return {"type": "string", "maxLength": self.max_length, "description": f"Of {words}"}


class Params:
    """A route's parameters, checked in the order given."""

    __slots__ = ("_path", "_query", "params", "parse", "source")

    def __init__(self, *params: Param) -> None:
        self.params = params
        self._query = tuple(p for p in params if p.in_ == "query")
        self._path = tuple(p for p in params if p.in_ == "path")
        self.parse = self._compile()

    def __add__(self, other: Params) -> Params:
        return Params(*self.params, *other.params)

    def openapi(self) -> list[dict[str, Any]]:
        return [p.openapi() for p in self.params]

    def _compile(self) -> Callable[..., dict[str, Any]]:
        """``parse(query, path=None)``: the values by key, each query parameter's or
        its default when absent; a 400 naming the first parameter refused (missing,
        malformed, out of range), in the order declared. ``path`` (the request's path
        parameters) is needed when path parameters are declared; they come first.

        It runs on every request of the lane's reads, so it is written out as one
        function per route (as ``dataclasses`` writes ``__init__``): no loop, no
        call for a parameter that is absent, and none for a value its kind's
        ``fast_path`` accepts inline. Only names of this module, the kinds' own
        expressions and ``repr`` of the declared names go into its source.
        """
        scope: dict[str, Any] = {"BadRequest": BadRequest}
        lines = ["def parse(query, path=None):", "    get = query.get"]
        keys: list[str] = []
        for i, param in enumerate(self._path):
            scope[f"p{i}"] = param
            lines.append(f"    w{i} = p{i}.convert(path[{param.name!r}])")
            keys.append(f"{param.key!r}: w{i}")
        for i, param in enumerate(self._query):
            scope[f"c{i}"] = param.convert
            scope[f"d{i}"] = param.default
            if param.required:
                message = f"Missing required query parameter '{param.name}'"
                absent = f"raise BadRequest({message!r})"
            else:
                absent = f"v{i} = d{i}"
            lines += [f"    raw = get({param.name!r})", "    if raw is None:", f"        {absent}"]
            fast = param.fast_path(f"t{i}")
            if fast is None:
                lines += ["    else:", f"        v{i} = c{i}(raw)"]
            else:  # convert called only for what the expression leaves to it
                expression, scope[f"t{i}"] = fast
                lines += [
                    "    else:",
                    f"        v{i} = {expression}",
                    f"        if v{i} is None:",
                    f"            v{i} = c{i}(raw)",
                ]
            keys.append(f"{param.key!r}: v{i}")
        for i, param in enumerate(self._query):
            if param.late:
                scope[f"l{i}"] = param.check_late
                lines += [f"    if {param.name!r} in query:", f"        v{i} = l{i}(v{i})"]
        lines.append("    return {" + ", ".join(keys) + "}")
        self.source = "\n".join(lines)
        exec(self.source, scope)  # noqa: S102 - the source above, from declarations
        parse: Callable[..., dict[str, Any]] = scope["parse"]
        return parse
