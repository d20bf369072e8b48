"""The OpenAPI description of the routes the fast lane serves (FastAPI does not see
them, so it cannot describe them): the event_data, logs and audits reads and the webhooks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from eventrail.audit.schemas import AuditPage
from eventrail.kit.requests import FALSE_WORDS, TRUE_WORDS

_DATE = "epoch ms, yyyy-MM-dd, yyyy-MM-dd HH:mm:ss or ISO 8601 (no offset: the org's timezone)"
_ENVELOPE = {"$ref": "#/components/schemas/ListEnvelope"}
_ERROR = {"$ref": "#/components/schemas/ErrorEnvelope"}


def _param(
    name: str, where: str, schema: dict[str, Any], description: str, required: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": required,
        "schema": schema,
        "description": description,
    }


def _errors(*codes: int) -> dict[str, Any]:
    return {
        str(code): {
            "description": "error envelope",
            "content": {"application/json": {"schema": _ERROR}},
        }
        for code in codes
    }


def _ok(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "200": {"description": description, "content": {"application/json": {"schema": schema}}}
    }


# Every boolean query parameter takes these (kit.requests.query_bool), nothing else.
_BOOLEAN = {"type": "string", "enum": [*TRUE_WORDS, *FALSE_WORDS], "default": "false"}

_SECURITY: list[dict[str, list[str]]] = [{"basic": []}, {"oauthToken": []}]

_PATHS: dict[str, Any] = {
    "/v2/events/logs": {
        "get": {
            "tags": ["event logs and data"],
            "summary": "The org's event processing log, newest first",
            "security": _SECURITY,
            "parameters": [
                _param(
                    "event_name", "query", {"type": "string", "maxLength": 200}, "Exact event name"
                ),
                _param(
                    "from_date",
                    "query",
                    {"type": "string", "maxLength": 64},
                    f"Inclusive, on startTime: {_DATE}",
                ),
                _param(
                    "to_date",
                    "query",
                    {"type": "string", "maxLength": 64},
                    f"Inclusive, on startTime: {_DATE}",
                ),
                _param(
                    "limit",
                    "query",
                    {"type": "integer", "minimum": 1, "maximum": 1000, "default": 10},
                    "Entries",
                ),
                _param(
                    "status",
                    "query",
                    {"type": "string", "maxLength": 40},
                    "Extension: a status, or UNAUTHORIZED",
                ),
                _param(
                    "offset",
                    "query",
                    {"type": "integer", "minimum": 0, "maximum": 10000000, "default": 0},
                    "Extension",
                ),
            ],
            "responses": {**_ok(_ENVELOPE, "Log entries, newest first"), **_errors(400, 401, 429)},
        }
    },
    "/v2/events/event_data/{userId}": {
        "get": {
            "tags": ["event logs and data"],
            "summary": "A customer's events, newest first",
            "security": _SECURITY,
            "parameters": [
                _param(
                    "userId",
                    "path",
                    {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
                    "Customer id",
                    True,
                ),
                _param(
                    "scope",
                    "query",
                    {"type": "string", "enum": ["child"]},
                    "child: the customer's events in the child orgs",
                ),
                _param("event_name", "query", {"type": "string", "maxLength": 200}, "Extension"),
                _param(
                    "from_date",
                    "query",
                    {"type": "string", "maxLength": 64},
                    f"Extension, on processing time: {_DATE}",
                ),
                _param(
                    "to_date",
                    "query",
                    {"type": "string", "maxLength": 64},
                    f"Extension, on processing time: {_DATE}",
                ),
                _param(
                    "limit",
                    "query",
                    {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1000},
                    "Extension",
                ),
            ],
            "responses": {
                **_ok(_ENVELOPE, "Event records, newest first"),
                **_errors(400, 401, 429),
            },
        }
    },
    "/v2/events/event_data": {
        "get": {
            "tags": ["event logs and data"],
            "summary": "One event by its requestId",
            "security": _SECURITY,
            "parameters": [
                _param(
                    "id",
                    "query",
                    {"type": "string", "minLength": 1, "maxLength": 64},
                    "requestId",
                    True,
                )
            ],
            "responses": {**_ok(_ENVELOPE, "The event, or none"), **_errors(400, 401, 429)},
        }
    },
    "/api_gateway/v2/audits": {
        "get": {
            "tags": ["audit"],
            "summary": "Audit log of a CUSTOMER or CARD",
            "security": _SECURITY,
            "parameters": [
                _param(
                    "entityType",
                    "query",
                    {"type": "string", "enum": ["CUSTOMER", "CARD"]},
                    "Entity type",
                    True,
                ),
                _param(
                    "entityId",
                    "query",
                    {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
                    "Customer or card id",
                    True,
                ),
                _param("source", "query", {"type": "string", "maxLength": 40}, "Entry source"),
                _param(
                    "limit",
                    "query",
                    {"type": "integer", "minimum": 1, "maximum": 100, "default": 10},
                    "Page size",
                ),
                _param(
                    "pageNo",
                    "query",
                    {"type": "integer", "minimum": 0, "maximum": 10000000, "default": 0},
                    "0-based page",
                ),
                _param(
                    "sortBy",
                    "query",
                    {"type": "string", "enum": ["autoUpdateTime", "createdOn"]},
                    "Sort key",
                ),
                _param(
                    "sortOrder", "query", {"type": "string", "enum": ["ASC", "DESC"]}, "Sort order"
                ),
                _param(
                    "startDate",
                    "query",
                    {"type": "string", "maxLength": 64},
                    f"On autoUpdateTime: {_DATE}",
                ),
                _param(
                    "endDate",
                    "query",
                    {"type": "string", "maxLength": 64},
                    f"On autoUpdateTime: {_DATE}",
                ),
                _param(
                    "referenceType",
                    "query",
                    {"type": "string", "maxLength": 40},
                    "Identifier, StandardField, ...",
                ),
                _param(
                    "referenceValue",
                    "query",
                    {"type": "string", "maxLength": 100},
                    "An updatedField",
                ),
                _param(
                    "includeUserContext",
                    "query",
                    _BOOLEAN,
                    "Show userContextDetails",
                ),
            ],
            "responses": {
                **_ok({"$ref": "#/components/schemas/AuditPage"}, "Audit entries, newest first"),
                **_errors(400, 401, 429),
            },
        }
    },
    "/webhooks/{webhook_id}": {
        "post": {
            "tags": ["webhooks"],
            "summary": "Post an event: committed, then acknowledged (1100)",
            "parameters": [
                _param(
                    "webhook_id",
                    "path",
                    {"type": "string", "pattern": "^[0-9a-f]{32}$"},
                    "The webhook",
                    True,
                ),
                _param("wait", "query", _BOOLEAN, "Answer after processing, with the result"),
                _param(
                    "dryRun",
                    "query",
                    _BOOLEAN,
                    "Run the pipeline and answer its verdict and the step that failed, "
                    "storing and logging nothing (credentials and rate limit as for a post)",
                ),
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            "responses": {
                **_ok(
                    {
                        "oneOf": [
                            {
                                "type": "object",
                                "required": ["status", "requestId"],
                                "properties": {
                                    "status": {"type": "object"},
                                    "requestId": {"type": "string"},
                                    "result": {"$ref": "#/components/schemas/WebhookVerdict"},
                                },
                            },
                            {"$ref": "#/components/schemas/DryRunAnswer"},
                        ]
                    },
                    "Acknowledged (with ?wait=true, the verdict); with ?dryRun=true, the "
                    "verdict only",
                ),
                **_errors(400, 401, 404, 413, 429, 503),
            },
        }
    },
    "/webhooks/{webhook_id}/batch": {
        "post": {
            "tags": ["webhooks"],
            "summary": "Post up to 1000 events: one requestId each, in order",
            "parameters": [
                _param(
                    "webhook_id",
                    "path",
                    {"type": "string", "pattern": "^[0-9a-f]{32}$"},
                    "The webhook",
                    True,
                ),
                _param("wait", "query", _BOOLEAN, "Answer after processing, with the results"),
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["events"],
                            "properties": {
                                "events": {"type": "array", "minItems": 1, "maxItems": 1000}
                            },
                        }
                    }
                },
            },
            "responses": {
                **_ok(
                    {
                        "type": "object",
                        "properties": {
                            "status": {"type": "object"},
                            "requestIds": {"type": "array", "items": {"type": "string"}},
                        },
                    },
                    "Acknowledged",
                ),
                **_errors(400, 401, 404, 413, 429, 503),
            },
        }
    },
}

_SCHEMAS: dict[str, Any] = {
    "WebhookVerdict": {
        "type": "object",
        "required": ["status", "message"],
        "properties": {
            "status": {"type": ["string", "null"], "description": "null: not processed yet"},
            "message": {"type": "string"},
        },
    },
    "DryRunAnswer": {
        "type": "object",
        "required": ["dryRun", "result"],
        "properties": {
            "dryRun": {"const": True},
            "result": {
                "type": "object",
                "required": ["status", "message", "step"],
                "properties": {
                    "status": {"type": "string"},
                    "message": {"type": "string"},
                    "step": {
                        "type": ["string", "null"],
                        "description": "The pipeline step that failed; null on success",
                    },
                },
            },
        },
    },
    "ListEnvelope": {
        "type": "object",
        "required": ["data", "warnings", "errors"],
        "properties": {
            "data": {"type": "array", "items": {"type": "object"}},
            "warnings": {"type": "array"},
            "errors": {"type": "array"},
        },
    },
    "ErrorEnvelope": {
        "type": "object",
        "description": "Every failure, with the matching HTTP status",
        "required": ["warnings", "errors"],
        "additionalProperties": False,
        "properties": {
            "warnings": {"type": "array", "maxItems": 0},
            "errors": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["status", "code", "message"],
                    "additionalProperties": False,
                    "properties": {
                        "status": {"const": False},
                        "code": {"type": "integer"},
                        "message": {"type": "string", "minLength": 1},
                    },
                },
            },
        },
    },
}


_UNAUTHENTICATED = frozenset({"/v3/oauth/token/generate", "/health", "/ready"})
# Operations that read no credentials and count against no budget.
_OPERATIONS_ONLY = frozenset({"/health", "/ready"})


def _describe_errors(path: str, operation: dict[str, Any]) -> None:
    """Document what a FastAPI route really answers on failure: the error envelope
    with 400 (never FastAPI's 422), 401, 403 where the route needs the admin
    permission, 404 (an object the org does not have), 429, and for a request
    body 413 and 415 (``kit.middleware``)."""
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)
    codes = [400] if path in _OPERATIONS_ONLY else [400, 401, 404, 429]
    if "403" in responses:  # declared by the admin-only routes (deps.ADMIN_ONLY)
        codes.append(403)
    if "requestBody" in operation:
        codes += [413, 415]
    responses.update(_errors(*codes))
    if path not in _UNAUTHENTICATED:
        operation.setdefault("security", _SECURITY)


def install(app: FastAPI) -> None:
    """Add the fast lane's routes to the app's OpenAPI document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, summary=app.summary, routes=app.routes
        )
        paths = schema.setdefault("paths", {})
        for path, operations in paths.items():
            for operation in operations.values():
                _describe_errors(path, operation)
        paths.update(_PATHS)
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        # FastAPI's 422 is never answered (validation errors are 400 envelopes).
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        schemas.update(_SCHEMAS)
        schemas.update(
            AuditPage.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")[
                "$defs"
            ]
        )
        schemas["AuditPage"] = {
            k: v
            for k, v in AuditPage.model_json_schema(
                by_alias=True, ref_template="#/components/schemas/{model}"
            ).items()
            if k != "$defs"
        }
        components.setdefault("securitySchemes", {}).update(
            {
                "basic": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "till code : md5(password)",
                },
                "oauthToken": {"type": "apiKey", "in": "header", "name": "X-CAP-API-OAUTH-TOKEN"},
            }
        )
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    _install_docs(app)


# Swagger UI and ReDoc, served from eventrail itself (pinned copies, docs/decisions.md):
# the pages work offline and load nothing from another origin.
_DOCS_ASSETS = Path(__file__).resolve().parent / "static" / "docs"
DOCS_ASSETS_URL = "/docs/assets"


def _install_docs(app: FastAPI) -> None:
    """GET /docs (Swagger UI) and GET /redoc (ReDoc); the FastAPI app is made with
    docs_url=None and redoc_url=None so that these are the only ones."""
    openapi_url = app.openapi_url or "/openapi.json"
    favicon = f"{DOCS_ASSETS_URL}/favicon-32x32.png"

    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{DOCS_ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=favicon,
            oauth2_redirect_url=None,
            # no badge fetched from validator.swagger.io
            swagger_ui_parameters={"validatorUrl": None},
        )

    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{DOCS_ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=favicon,
            with_google_fonts=False,
        )

    app.add_api_route("/docs", swagger_ui, methods=["GET"], include_in_schema=False)
    app.add_api_route("/redoc", redoc, methods=["GET"], include_in_schema=False)
    app.mount(DOCS_ASSETS_URL, StaticFiles(directory=_DOCS_ASSETS), name="docs-assets")
