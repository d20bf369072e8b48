"""An export that fails part way must not look complete: kit/exports.stream behind
a real uvicorn server with eventrail's HTTP protocol (as `eventrail serve` runs it).
When the batch iterator raises after some rows, the connection closes without the
chunked body's terminating zero-length chunk, so the client sees an incomplete
body (httpx raises, curl exits 18), and the NDJSON end line is absent."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from eventrail.kit import exports
from eventrail.kit.server import GuardedHttpToolsProtocol
from tests.fixtures.server import free_port

BATCH = 1000
FAIL_AFTER = 3  # batches sent before the iterator raises


class ReadFailed(Exception):
    pass


def batches(fail: bool) -> Iterator[list[dict[str, Any]]]:
    for b in range(FAIL_AFTER):
        yield [{"n": b * BATCH + i, "cursor": f"{b * BATCH + i}.0"} for i in range(BATCH)]
    if fail:
        raise ReadFailed("the database went away")


closed: list[str] = []


async def export(request: Request) -> StreamingResponse:
    fmt = request.query_params["format"]
    encoder = exports.Encoder(fmt, ("n", "cursor"))
    body = exports.stream(
        batches(request.query_params.get("fail") == "1"),
        encoder,
        lambda: closed.append(fmt),
    )
    return StreamingResponse(body, media_type=encoder.media_type)


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(
        Starlette(routes=[Route("/export", export)]),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http=GuardedHttpToolsProtocol,
        lifespan="off",
        log_level="critical",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def raw_get(base: str, query: str) -> bytes:
    """The whole answer as the server sent it, read until it closes the connection."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(
            f"GET /export?{query} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n".encode()
        )
        parts = []
        while part := sock.recv(65536):
            parts.append(part)
    return b"".join(parts)


@pytest.mark.parametrize("fmt", exports.FORMATS)
def test_a_failed_export_ends_without_the_last_chunk(base: str, fmt: str) -> None:
    closed.clear()
    received = bytearray()

    def download() -> None:
        with (
            httpx.Client(base_url=base, timeout=30) as client,
            client.stream("GET", "/export", params={"format": fmt, "fail": "1"}) as r,
        ):
            assert r.status_code == 200
            for chunk in r.iter_bytes():
                received.extend(chunk)

    with pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"):
        download()
    assert received.count(b"\n") == FAIL_AFTER * BATCH + (fmt == "csv")  # + the header
    assert exports.TRAILER_KEY.encode() not in received
    assert closed == [fmt]  # the export's connection is closed all the same

    answer = raw_get(base, f"format={fmt}&fail=1")
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert b"transfer-encoding: chunked" in answer.lower()
    assert not answer.endswith(b"\r\n0\r\n\r\n")


@pytest.mark.parametrize("fmt", exports.FORMATS)
def test_a_whole_export_ends_with_the_last_chunk(base: str, fmt: str) -> None:
    answer = raw_get(base, f"format={fmt}")
    assert answer.endswith(b"\r\n0\r\n\r\n")
    with httpx.Client(base_url=base, timeout=30) as client:
        r = client.get("/export", params={"format": fmt})
    assert r.status_code == 200
    lines = r.content.splitlines()
    if fmt == "ndjson":
        assert len(lines) == FAIL_AFTER * BATCH + 1
        assert lines[-1] == b'{"_export":{"rows":3000,"complete":true}}'
    else:
        assert len(lines) == FAIL_AFTER * BATCH + 1  # the header, then the rows
        assert lines[0] == b"n,cursor"
