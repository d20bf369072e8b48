"""kit/server writes an answer's status line and headers with its body in one write
(uvicorn's protocol writes them in two): the protocol driven with raw request bytes,
its transport recording every write."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.config import Config
from uvicorn.server import ServerState

from eventrail.kit.server import GuardedHttpToolsProtocol


class Recording(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def can_write_eof(self) -> bool:
        return False


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    request = await receive()
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"one", "more_body": True})
        await send({"type": "http.response.body", "body": b"two"})
        return
    body = b"echo:" + request.get("body", b"")
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _answer(*parts: bytes) -> Recording:
    """What the protocol writes for ``parts`` received one after the other, the
    app's task let run after each."""
    config = Config(app=app, lifespan="off", access_log=False)
    protocol = GuardedHttpToolsProtocol(config=config, server_state=ServerState(), app_state={})
    transport = Recording()
    protocol.connection_made(transport)
    for part in parts:
        protocol.data_received(part)
        for _ in range(20):
            await asyncio.sleep(0)
    protocol.connection_lost(None)
    return transport


async def test_an_answer_is_one_write() -> None:
    sent = await _answer(b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
    [answer] = sent.writes
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b"\r\n\r\necho:")


async def test_an_answer_to_a_post_is_one_write() -> None:
    sent = await _answer(b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi")
    [answer] = sent.writes
    assert answer.endswith(b"\r\n\r\necho:hi")


async def test_keep_alive_answers_are_one_write_each() -> None:
    sent = await _answer(b"GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n")
    assert len(sent.writes) == 2
    assert all(w.startswith(b"HTTP/1.1 200 OK") and w.endswith(b"echo:") for w in sent.writes)


async def test_a_streamed_answer_sends_its_head_with_the_first_part() -> None:
    sent = await _answer(b"GET /stream HTTP/1.1\r\nHost: a\r\n\r\n")
    assert sent.writes[0].startswith(b"HTTP/1.1 200 OK") and b"one" in sent.writes[0]
    assert b"".join(sent.writes).endswith(b"3\r\ntwo\r\n0\r\n\r\n")


async def test_head_is_not_held_and_connection_close_sends_the_answer_first() -> None:
    sent = await _answer(b"HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n")
    [answer] = sent.writes
    assert answer.startswith(b"HTTP/1.1 200 OK") and answer.endswith(b"\r\n\r\n")
    sent = await _answer(b"GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    [answer] = sent.writes
    assert answer.endswith(b"echo:") and sent.closed


async def test_continue_goes_out_before_the_answer() -> None:
    request = b"POST /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
    sent = await _answer(request, b"hi")
    continued, answer = sent.writes
    assert continued == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert answer.startswith(b"HTTP/1.1 200 OK") and answer.endswith(b"echo:hi")
