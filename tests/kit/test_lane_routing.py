"""The fast lane's routing: exact paths by look-up, the others by pattern, 405 with
every allowed method, anything else to the fallback."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.types import Receive, Scope, Send

from eventrail.kit.asgi import FastLane, FastRequest, FastResponse, json_response


def _handler(name: str) -> Any:
    async def handle(request: FastRequest) -> FastResponse:
        return json_response({"route": name, "params": request.path_params})

    return handle


async def _fallback(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 299, "headers": []})
    await send({"type": "http.response.body", "body": b"fallback"})


async def test_exact_then_patterned_then_fallback() -> None:
    lane = FastLane(_fallback)
    lane.route("GET", "/things/{thing_id}", _handler("one thing"))
    lane.route("GET", "/things", _handler("list"))
    lane.route("POST", "/things", _handler("create"))
    lane.route("POST", "/things/{thing_id}/parts", _handler("part"))
    transport = httpx.ASGITransport(app=lane)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get("/things")
        assert r.json() == {"route": "list", "params": {}}
        r = await client.post("/things", content=b"")
        assert r.json() == {"route": "create", "params": {}}
        r = await client.get("/things/42")
        assert r.json() == {"route": "one thing", "params": {"thing_id": "42"}}
        r = await client.post("/things/42/parts", content=b"")
        assert r.json() == {"route": "part", "params": {"thing_id": "42"}}
        r = await client.delete("/things")
        assert r.status_code == 405
        assert r.headers["allow"] == "GET, POST"
        r = await client.get("/things/42/parts")
        assert r.status_code == 405
        assert r.headers["allow"] == "POST"
        for path in ("/thing", "/things/42/parts/7", "/other"):
            r = await client.get(path)
            assert (r.status_code, r.text) == (299, "fallback"), path
