"""The app's OpenAPI document at collection time, and what the security tests read
from it: operations, their parameters, and the fields of their request bodies."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eventrail.app import create_app
from eventrail.config import Settings
from eventrail.db import Database

METHODS = ("get", "put", "post", "delete", "patch")


def collection_document() -> dict[str, Any]:
    """The document the app serves, built without a database so that tests can be
    parametrized by operation (each file also checks it equals the served one)."""
    with tempfile.TemporaryDirectory() as tmp:
        config = Settings(
            database_url=f"sqlite:///{Path(tmp) / 'collect.db'}",
            data_dir=Path(tmp),
            secret_key="collection-only-secret-key-0123456789abcdef",
            processor_threads=0,
        )
        database = Database(config)
        try:
            document: dict[str, Any] = create_app(config, database).api.openapi()
        finally:
            database.dispose()
    # As served: JSON, so tuples are lists and keys strings.
    served: dict[str, Any] = json.loads(json.dumps(document))
    return served


DOCUMENT = collection_document()


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    path: str
    spec: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def params(self) -> list[dict[str, Any]]:
        return list(self.spec.get("parameters", []))

    def params_in(self, where: str) -> list[dict[str, Any]]:
        return [p for p in self.params if p["in"] == where]

    @property
    def body_schema(self) -> dict[str, Any] | None:
        body = self.spec.get("requestBody")
        if body is None:
            return None
        schema: dict[str, Any] = body["content"]["application/json"]["schema"]
        return resolve(schema)

    @property
    def is_public(self) -> bool:
        """Needs no credentials (the token endpoint, health and readiness)."""
        return "security" not in self.spec

    @property
    def is_webhook(self) -> bool:
        return self.path.startswith("/webhooks/")


OPERATIONS = [
    Operation(method.upper(), path, spec)
    for path, item in DOCUMENT["paths"].items()
    for method, spec in item.items()
    if method in METHODS
]


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with a top-level ``$ref`` (or a one-branch anyOf) followed."""
    while True:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = {**DOCUMENT["components"]["schemas"][name]}
            continue
        branches = [b for b in schema.get("anyOf", []) if b.get("type") != "null"]
        if "anyOf" in schema and len(branches) == 1:
            schema = branches[0]
            continue
        return schema


def schema_type(schema: dict[str, Any]) -> str | None:
    kind = resolve(schema).get("type")
    return kind if isinstance(kind, str) else None


def param_type(param: dict[str, Any]) -> str | None:
    return schema_type(param["schema"])


def body_fields(schema: dict[str, Any], kinds: tuple[str, ...], depth: int = 3) -> list[list[Any]]:
    """Paths (keys, and 0 for an array item) of the body's fields of these types."""
    found: list[list[Any]] = []
    node = resolve(schema)
    kind = node.get("type")
    if kind in kinds:
        found.append([])
    if depth == 0:
        return found
    if kind == "object" or "properties" in node:
        for name, child in node.get("properties", {}).items():
            found.extend([name, *rest] for rest in body_fields(child, kinds, depth - 1))
    elif kind == "array" and isinstance(node.get("items"), dict):
        found.extend([0, *rest] for rest in body_fields(node["items"], kinds, depth - 1))
    return found


def skeleton(schema: dict[str, Any], depth: int = 4) -> Any:
    """A small value of the schema: required properties only, simple leaves."""
    node = resolve(schema)
    if "enum" in node:
        return node["enum"][0]
    if "const" in node:
        return node["const"]
    kind = node.get("type")
    if kind == "string":
        return "x" * max(1, int(node.get("minLength", 1)))
    if kind == "integer":
        return max(1, int(node.get("minimum", 1)))
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return False
    if kind == "array":
        items = node.get("items")
        if depth == 0 or not isinstance(items, dict):
            return []
        return [skeleton(items, depth - 1)] * max(1, int(node.get("minItems", 1)))
    if kind == "object" or "properties" in node:
        if depth == 0:
            return {}
        props = node.get("properties", {})
        return {name: skeleton(props[name], depth - 1) for name in node.get("required", [])}
    return "x"


def with_value(body: Any, schema: dict[str, Any], path: list[Any], value: Any) -> Any:
    """A copy of ``body`` with ``value`` at ``path`` (missing parents made from the schema)."""
    if not path:
        return value
    node = resolve(schema)
    head, rest = path[0], path[1:]
    if head == 0:
        items = node["items"]
        current = list(body) if isinstance(body, list) and body else [skeleton(items)]
        current[0] = with_value(current[0], items, rest, value)
        return current
    child_schema = node.get("properties", {})[head]
    current_obj = dict(body) if isinstance(body, dict) else {}
    child = current_obj.get(head, skeleton(child_schema) if rest else None)
    current_obj[head] = with_value(child, child_schema, rest, value)
    return current_obj


def dotted(path: list[Any]) -> str:
    out = ""
    for part in path:
        out += "[0]" if part == 0 else (f".{part}" if out else str(part))
    return out
