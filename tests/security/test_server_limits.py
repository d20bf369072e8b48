"""Limits on reading a request, against a real `eventrail serve` over raw sockets:
megabyte headers (431 with the envelope, memory bounded), half-sent requests
(closed after the header or body timeout) and a flood of connections (capped;
the half-sent ones make way for a normal client, who is served meanwhile)."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from eventrail.app import EventrailApp
from eventrail.kit.server import MAX_HEADER_BYTES, MAX_HEADER_LINE_BYTES
from tests.fixtures.server import Server, cli_env, run_cli, server_process

MIB = 1024 * 1024
HEADER_TIMEOUT = 2
BODY_TIMEOUT = 2
MAX_CONNECTIONS = 60


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("limits")
    env = cli_env(
        f"sqlite:///{data}/limits.db", data, EVENTRAIL_MAX_CONNECTIONS=str(MAX_CONNECTIONS)
    )
    assert run_cli(["migrate"], env)[0] == 0
    # The timeouts as options, the cap as a setting: both ways are used.
    options = ["--header-timeout", str(HEADER_TIMEOUT), "--body-timeout", str(BODY_TIMEOUT)]
    with server_process(env, args=options) as running:
        yield running


def _connect(server: Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def _read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (or resets) the connection."""
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def _envelope(answer: bytes, status: int) -> str:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode()), answer[:200]
    assert b"content-type: application/json" in head.lower()
    document = json.loads(body)
    assert document["warnings"] == []
    [error] = document["errors"]
    assert error["status"] is False and error["code"] == status
    message: str = error["message"]
    return message


def _huge_header(server: Server, size: int) -> bytes:
    sock = _connect(server)
    try:
        request = b"GET /v2/events/logs HTTP/1.1\r\nHost: x\r\nAuthorization: Basic "
        with contextlib.suppress(OSError):  # refused mid-way: the answer is what counts
            sock.sendall(request + b"A" * size + b"\r\n\r\n")
        return _read_all(sock)
    finally:
        sock.close()


def test_megabyte_headers_are_431_and_never_buffered(server: Server) -> None:
    before = server.rss_kib()
    answers: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: answers.append(_huge_header(server, 4 * MIB)))
        for _ in range(20)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == 20
    for answer in answers:
        assert "64 KiB" in _envelope(answer, 431)
    # 80 MB were sent at once; the server held no more than the limit and a read
    # of each (before: 116 -> 430 MB for 20 such requests).
    grown = server.rss_kib("VmHWM") - before
    assert grown < 30 * 1024, f"the server grew by {grown} KiB"
    # Still serving.
    assert httpx.get(f"{server.base}/openapi.json", timeout=10).status_code == 200


def test_one_header_line_over_16_kib_is_431(server: Server) -> None:
    answer = _huge_header(server, MAX_HEADER_LINE_BYTES + 10)
    assert "16 KiB per line" in _envelope(answer, 431)


def test_a_request_line_over_16_kib_is_431(server: Server) -> None:
    """Checked by the server as it reads, before any handler (the app's own check
    is not made again for a request it read)."""
    sock = _connect(server)
    try:
        target = b"/v2/events/logs?event_name=" + b"e" * MAX_HEADER_LINE_BYTES
        with contextlib.suppress(OSError):
            sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = _read_all(sock)
    finally:
        sock.close()
    assert "16 KiB per line" in _envelope(answer, 431)
    assert b"connection: close" in answer.lower()


def test_lines_each_under_16_kib_over_64_in_all_are_431(server: Server) -> None:
    headers = {f"x-pad-{n}": "p" * 9000 for n in range(8)}  # 72 KiB in all
    r = httpx.get(f"{server.base}/v2/events/logs", headers=headers, timeout=10)
    assert r.status_code == 431, r.text
    assert "64 KiB" in r.json()["errors"][0]["message"]


def test_headers_under_the_limits_are_served(server: Server) -> None:
    # Eight lines of 7 KiB: 56 KiB in all, under both limits.
    headers = {f"x-pad-{n}": "p" * 7000 for n in range(8)}
    r = httpx.get(f"{server.base}/v2/events/logs", headers=headers, timeout=10)
    assert r.status_code == 401, r.text  # reached the app: no credentials


async def test_the_app_refuses_large_headers_behind_any_server(app: EventrailApp) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for path in ("/v2/events/logs", "/v2/customers/lookup", "/openapi.json"):
            r = await client.get(path, headers={"x-big": "b" * (MAX_HEADER_LINE_BYTES + 1)})
            assert r.status_code == 431, (path, r.text)
            assert r.json()["errors"][0]["code"] == 431
            many = {f"x-pad-{n}": "p" * 10_000 for n in range(MAX_HEADER_BYTES // 10_000 + 1)}
            r = await client.get(path, headers=many)
            assert r.status_code == 431, (path, r.text)
            assert r.headers["x-cap-requestid"]


def _closed_within(sock: socket.socket, seconds: float) -> bytes | None:
    """What the server sent before closing the connection, or None if still open."""
    sock.settimeout(seconds)
    try:
        return _read_all(sock)
    except TimeoutError:
        return None


def test_half_sent_requests_are_closed_and_a_normal_client_is_served(server: Server) -> None:
    sockets: list[socket.socket] = []
    try:
        # Five times the cap of half-sent requests (slowloris): the newest push the
        # oldest out, so the server holds about the cap.
        for n in range(5 * MAX_CONNECTIONS):
            sock = _connect(server)
            sock.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\nX-Slow-" + str(n).encode())
            sockets.append(sock)
        time.sleep(0.3)
        assert server.open_files() < MAX_CONNECTIONS + 40
        # Meanwhile a normal client is served, on a fresh connection each time.
        for _ in range(5):
            with httpx.Client(timeout=5) as client:
                assert client.get(f"{server.base}/openapi.json").status_code == 200
        # Past the header timeout (checked once a second), every one is closed.
        started = time.monotonic()
        for sock in sockets:
            left = HEADER_TIMEOUT + 3 - (time.monotonic() - started)
            answer = _closed_within(sock, max(left, 0.1))
            assert answer is not None, "a half-sent request is still open"
            if answer:
                assert _envelope(answer, 408)
    finally:
        for sock in sockets:
            sock.close()


def test_a_body_that_never_ends_is_closed_after_the_body_timeout(server: Server) -> None:
    # A route that reads the body before answering (a webhook answers an unknown id,
    # bad credentials or a spent budget before it reads the body: test_admission.py).
    sock = _connect(server)
    try:
        sock.sendall(
            b"POST /v2/customers HTTP/1.1\r\nHost: x\r\n"
            b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"a": '
        )
        started = time.monotonic()
        assert _closed_within(sock, BODY_TIMEOUT + 3) is not None, "the body is still awaited"
        assert time.monotonic() - started >= BODY_TIMEOUT - 1
    finally:
        sock.close()
    # A whole, slowish request within the timeouts is served.
    sock = _connect(server)
    try:
        for part in (
            b"GET /openapi.json HTTP/1.1\r\n",
            b"Host: x\r\n",
            b"Connection: close\r\n\r\n",
        ):
            sock.sendall(part)
            time.sleep(0.3)
        assert _read_all(sock).startswith(b"HTTP/1.1 200 ")
    finally:
        sock.close()


def test_serve_refuses_unsafe_limits(tmp_path: Path) -> None:
    env = cli_env(f"sqlite:///{tmp_path}/x.db", tmp_path)
    code, out = run_cli(["serve", "--header-timeout", "0"], env)
    assert code == 1 and "header_timeout_seconds" in out["error"]
