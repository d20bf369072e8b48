"""The envelope of SPEC §1 on every failure, and X-Cap-Requestid on every response."""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.factories import Tenant


def assert_envelope(r: httpx.Response, status: int, code: int | None = None) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"warnings", "errors"}
    assert body["warnings"] == []
    [error] = body["errors"]
    assert set(error) == {"status", "code", "message"}
    assert error["status"] is False
    assert error["code"] == (code if code is not None else status)
    assert isinstance(error["message"], str) and error["message"]
    assert len(r.headers["x-cap-requestid"]) == 32
    message: str = error["message"]
    return message


async def test_every_response_has_a_request_id(tenant: Tenant, http: httpx.AsyncClient) -> None:
    ok = await tenant.http.get("/v2/orgs/settings")
    unauth = await http.get("/v2/orgs/settings")
    missing = await tenant.http.get("/no/such/path")
    ids = {r.headers["x-cap-requestid"] for r in (ok, unauth, missing)}
    assert len(ids) == 3


async def test_unknown_path(tenant: Tenant) -> None:
    assert_envelope(await tenant.http.get("/v2/nothing-here"), 404)


async def test_method_not_allowed(tenant: Tenant) -> None:
    assert_envelope(await tenant.http.delete("/v2/customers/1"), 405)
    assert_envelope(await tenant.http.patch("/api_gateway/v2/audits", json={}), 405)


@pytest.mark.parametrize(
    ("content", "headers", "status", "needle"),
    [
        (b"{bad json", {"content-type": "application/json"}, 400, "not valid JSON"),
        (b"\xff\xfe\xfa", {"content-type": "application/json"}, 400, "not valid JSON"),
        (b"[1, 2]", {"content-type": "application/json"}, 400, "request body"),
        (b'"text"', {"content-type": "application/json"}, 400, "request body"),
        (b"", {"content-type": "application/json"}, 400, "body is required"),
        (b'{"profiles": []}', {"content-type": "text/plain"}, 415, "application/json"),
        (b"a=b", {"content-type": "application/x-www-form-urlencoded"}, 415, "application/json"),
        (b"x" * (1024 * 1024 + 1), {"content-type": "application/json"}, 413, "1 MiB"),
    ],
)
async def test_malformed_bodies(
    tenant: Tenant, content: bytes, headers: dict[str, str], status: int, needle: str
) -> None:
    r = await tenant.http.post("/v2/customers", content=content, headers=headers)
    message = assert_envelope(r, status)
    assert needle.lower() in message.lower()


async def test_lying_content_length_is_refused(tenant: Tenant) -> None:
    r = await tenant.http.post(
        "/v2/customers",
        content=b"{}",
        headers={"content-type": "application/json", "content-length": str(5 * 1024 * 1024)},
    )
    assert_envelope(r, 413)


async def test_json_charset_and_vendor_types_accepted(tenant: Tenant) -> None:
    for content_type in ("application/json; charset=utf-8", "application/vnd.api+json"):
        r = await tenant.http.post(
            "/v2/orgs/settings/cardSeries",
            content=b'{"name": "S", "code": "%s"}' % content_type[-5:].encode(),
            headers={"content-type": content_type},
        )
        assert r.status_code == 200, r.text


async def test_validation_messages_name_the_field(tenant: Tenant) -> None:
    r = await tenant.http.post("/v2/customers", json={"profiles": "nope"})
    assert "'profiles'" in assert_envelope(r, 400)
    r = await tenant.http.post("/v2/customers", json={})
    assert "'profiles'" in assert_envelope(r, 400)
    r = await tenant.http.get("/api_gateway/v2/audits", params={"entityType": "CARD"})
    assert "'entityId'" in assert_envelope(r, 400)
    r = await tenant.http.get("/v2/customers/abc")
    assert "'id'" in assert_envelope(r, 400)


async def test_openapi_document(http: httpx.AsyncClient) -> None:
    r = await http.get("/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for path in (
        "/api_gateway/v2/audits",
        "/v2/customers",
        "/v2/customers/{id}/changeIdentifier",
        "/v2/card",
        "/v3/oauth/token/generate",
        "/v2/orgs/settings/fields",
    ):
        assert path in paths


def test_one_renderer_and_one_hierarchy() -> None:
    """The envelope is written in errors.py alone; every error class a request can
    meet derives from EventrailError and is named in the hierarchy errors.py shows."""
    import ast
    import inspect
    from pathlib import Path

    import eventrail
    from eventrail import errors

    root = Path(eventrail.__file__).parent
    writers = []
    outside = []
    for path in root.rglob("*.py"):
        text = path.read_text()
        if path.name != "errors.py" and '"errors": [{' in text.replace(" ", "").replace(
            '"errors":[{', '"errors": [{'
        ):
            writers.append(str(path.relative_to(root)))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                bases = {ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases}
                if bases & {"Exception", "ValueError", "RuntimeError"}:
                    outside.append(f"{path.relative_to(root)}:{node.name}")
    assert writers == [], writers
    # Exceptions that never reach a client: the command line's (and its lean
    # database path's), the protocol's own signal, the value readers' ValueErrors
    # (pydantic validators must raise ValueError), each turned into a BadRequest
    # naming the field by its caller; a logged webhook refusal, which carries the
    # EventrailError its endpoint raises; a notification receiver's blocked
    # address, recorded as that delivery's error by the delivery worker.
    internal = [
        "cli.py:CommandError",
        "errors.py:EventrailError",
        "ingest/exceptions.py:LoggedRefusal",
        "kit/plainsql.py:NoDatabase",
        "kit/requests.py:QueryValueError",
        "kit/server.py:_HeaderLineTooLarge",
        "kit/values.py:ValueRefused",
        "notifications/urls.py:BlockedAddress",
    ]
    assert sorted(outside) == internal, outside
    doc = inspect.getdoc(errors) or ""
    for name, cls in vars(errors).items():
        if isinstance(cls, type) and issubclass(cls, errors.EventrailError):
            assert cls is errors.EventrailError or f"── {name} " in doc, name
