"""The OpenAPI document: FastAPI's description of its routes, with the error answers
they really give, plus the routes the fast lane serves (FastAPI does not see them):
the event_data, logs and audits reads and the webhooks. Those are generated too:
each parameter from the declaration its handler parses with (``kit/params.py``),
each answer from the pydantic shape of what the handler returns."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from eventrail.audit.endpoints import AUDITS_FILTERS, AUDITS_PARAMS
from eventrail.audit.schemas import AuditPage
from eventrail.ingest.schemas import Ack, BatchAck, DryRunAnswer
from eventrail.ingest.service import MAX_BATCH, WEBHOOK_PARAMS
from eventrail.kit.params import Params
from eventrail.processing.endpoints import (
    CUSTOMER_EVENTS_PARAMS,
    CUSTOMER_PARAMS,
    LOGS_PARAMS,
    ONE_EVENT_PARAMS,
    SEARCH_PARAMS,
)
from eventrail.processing.schemas import EventDataList, LogList, SearchAnswer

_ERROR = {"$ref": "#/components/schemas/ErrorEnvelope"}
_SECURITY: list[dict[str, list[str]]] = [{"basic": []}, {"oauthToken": []}]


def _errors(*codes: int) -> dict[str, Any]:
    return {
        str(code): {
            "description": "error envelope",
            "content": {"application/json": {"schema": _ERROR}},
        }
        for code in codes
    }


@dataclass(frozen=True)
class _LaneOperation:
    method: str
    path: str
    tag: str
    summary: str
    params: Params
    answer: type[BaseModel]
    answered: str
    errors: tuple[int, ...]
    body: dict[str, Any] | None = None
    # The webhooks' credentials are optional (the webhook says whether it wants them).
    secured: bool = True
    # Another answer the operation may give (a webhook's ?dryRun=true).
    also: type[BaseModel] | None = None

    def operation(self) -> dict[str, Any]:
        ok: dict[str, Any] = {"$ref": f"#/components/schemas/{self.answer.__name__}"}
        if self.also is not None:
            ok = {"anyOf": [ok, {"$ref": f"#/components/schemas/{self.also.__name__}"}]}
        operation: dict[str, Any] = {"tags": [self.tag], "summary": self.summary}
        if self.secured:
            operation["security"] = _SECURITY
        operation["parameters"] = self.params.openapi()
        if self.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": self.body}},
            }
        operation["responses"] = {
            "200": {"description": self.answered, "content": {"application/json": {"schema": ok}}},
            **_errors(*self.errors),
        }
        return operation


_READ_ERRORS = (400, 401, 429)
_POST_ERRORS = (400, 401, 404, 413, 429, 503)
_LOGS_TAG = "event logs and data"

_LANE = (
    _LaneOperation(
        "get",
        "/v2/events/logs",
        _LOGS_TAG,
        "The org's event processing log, newest first",
        LOGS_PARAMS,
        LogList,
        "Log entries, newest first",
        _READ_ERRORS,
    ),
    _LaneOperation(
        "get",
        "/v2/events/event_data/{userId}",
        _LOGS_TAG,
        "A customer's events, newest first",
        CUSTOMER_PARAMS + CUSTOMER_EVENTS_PARAMS,
        EventDataList,
        "Event records, newest first",
        _READ_ERRORS,
    ),
    _LaneOperation(
        "get",
        "/v2/events/event_data",
        _LOGS_TAG,
        "One event by its requestId",
        ONE_EVENT_PARAMS,
        EventDataList,
        "The event, or none",
        _READ_ERRORS,
    ),
    _LaneOperation(
        "get",
        "/v2/events/search",
        _LOGS_TAG,
        "The org's events by event, customer, group, time and duplicate flag",
        SEARCH_PARAMS,
        SearchAnswer,
        "Events, by date (a refused parameter: 400 with code 1850 naming it)",
        _READ_ERRORS,
    ),
    _LaneOperation(
        "get",
        "/api_gateway/v2/audits",
        "audit",
        "Audit log of a CUSTOMER or CARD",
        AUDITS_PARAMS + AUDITS_FILTERS,
        AuditPage,
        "Audit entries, newest first",
        _READ_ERRORS,
    ),
    _LaneOperation(
        "post",
        "/webhooks/{webhook_id}",
        "webhooks",
        "Post an event: committed, then acknowledged (1100)",
        WEBHOOK_PARAMS,
        Ack,
        "Acknowledged (with dryRun=true: the verdict, nothing stored)",
        _POST_ERRORS,
        body={"type": "object"},
        secured=False,
        also=DryRunAnswer,
    ),
    _LaneOperation(
        "post",
        "/webhooks/{webhook_id}/batch",
        "webhooks",
        f"Post up to {MAX_BATCH} events: one requestId each, in order",
        WEBHOOK_PARAMS,
        BatchAck,
        "Acknowledged",
        _POST_ERRORS,
        body={
            "type": "object",
            "required": ["events"],
            "properties": {"events": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH}},
        },
        secured=False,
    ),
)


def _lane_paths() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for lane in _LANE:
        paths.setdefault(lane.path, {})[lane.method] = lane.operation()
    return paths


def _model_schemas(*models: type[BaseModel]) -> dict[str, Any]:
    """Each model's JSON schema (wire names) and those of the models it holds, by name."""
    schemas: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas


_ERROR_ENVELOPE: dict[str, Any] = {
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
}

# /metrics wants a bearer token only when EVENTRAIL_METRICS_TOKEN is set (its own 401
# is declared by the route), never a till's or a client's credentials.
_UNAUTHENTICATED = frozenset({"/v3/oauth/token/generate", "/health", "/ready", "/metrics"})
# Operations that read no credentials and count against no budget.
_OPERATIONS_ONLY = frozenset({"/health", "/ready", "/metrics"})


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
        paths.update(_lane_paths())
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        # FastAPI's 422 is never answered (validation errors are 400 envelopes).
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        schemas["ErrorEnvelope"] = _ERROR_ENVELOPE
        answers = [lane.answer for lane in _LANE] + [lane.also for lane in _LANE if lane.also]
        schemas.update(_model_schemas(*answers))
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
