"""A body over the limit, against a real `eventrail serve`: the client reads the 413
and its envelope (Python's urllib and requests, curl), whether it declares the size
or streams chunks, and the server stays healthy. The server reads and drops what
the client still sends only up to a bound (DISCARD_BYTES, DISCARD_SECONDS)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import httpx
import pytest
import requests

from eventrail.kit.server import DISCARD_BYTES, DISCARD_SECONDS
from tests.fixtures.factories import basic
from tests.fixtures.server import Server, cli_env, run_cli, server_process

MIB = 1024 * 1024
TOO_LARGE = {
    "warnings": [],
    "errors": [{"status": False, "code": 413, "message": "Request body is larger than 1 MiB"}],
}
# An org's API (FastAPI's guard) and a webhook (the fast lane): both refuse the same way.
PATHS = ("/v2/customers", "/webhooks/0123456789abcdef0123456789abcdef")
SIZES = (2 * MIB, 20 * MIB)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("bodies")
    env = cli_env(f"sqlite:///{data}/bodies.db", data)
    assert run_cli(["migrate"], env)[0] == 0
    with server_process(env) as running:
        yield running


def _body(size: int) -> bytes:
    return b'{"a":"' + b"x" * (size - 8) + b'"}'


def _assert_healthy(server: Server) -> None:
    r = httpx.get(f"{server.base}/ready", timeout=10)
    assert r.status_code == 200, r.text
    # and an ordinary request on the API is still answered as usual
    r = httpx.post(f"{server.base}/v2/customers", json={}, timeout=10)
    assert r.status_code == 401, r.text


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("path", PATHS)
def test_urllib_reads_the_413(server: Server, path: str, size: int) -> None:
    request = urllib.request.Request(  # noqa: S310 (a local server over http)
        server.base + path,
        data=_body(size),
        method="POST",
        headers={"Content-Type": "application/json", **basic("t", "p")},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)  # noqa: S310 (a local server over http)
    assert caught.value.code == 413
    assert json.loads(caught.value.read()) == TOO_LARGE
    _assert_healthy(server)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("path", PATHS)
def test_requests_reads_the_413(server: Server, path: str, size: int) -> None:
    r = requests.post(
        server.base + path,
        data=_body(size),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert r.status_code == 413
    assert r.json() == TOO_LARGE
    assert r.headers["connection"] == "close"
    _assert_healthy(server)


def test_requests_reads_the_413_of_a_chunked_upload(server: Server) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"x" * MIB

    r = requests.post(
        server.base + PATHS[0],
        data=chunks(),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert r.status_code == 413
    assert r.json() == TOO_LARGE
    _assert_healthy(server)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("path", PATHS)
def test_curl_reads_the_413(server: Server, path: str, size: int, tmp_path: object) -> None:
    curl = shutil.which("curl")
    assert curl is not None, "curl is needed by this test"
    body = f"{tmp_path}/body.json"
    with open(body, "wb") as out:
        out.write(_body(size))
    done = subprocess.run(
        [
            curl,
            "--silent",
            "--show-error",
            "--max-time",
            "30",
            "--header",
            "Content-Type: application/json",
            "--data-binary",
            f"@{body}",
            "--write-out",
            "\n%{http_code}",
            server.base + path,
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer, status = done.stdout.rsplit(b"\n", 1)
    assert status == b"413"
    assert json.loads(answer) == TOO_LARGE
    _assert_healthy(server)


def _send_until_closed(sock: socket.socket, seconds: float) -> tuple[int, bool]:
    """Sends until the server closes (reset or broken pipe) or ``seconds`` pass:
    (bytes sent, whether it closed)."""
    sent = 0
    chunk = b"x" * 65536
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            sock.sendall(chunk)
        except OSError:
            return sent, True
        sent += len(chunk)
    return sent, False


def test_a_client_that_keeps_sending_is_cut_off_at_the_bound(server: Server) -> None:
    """The server drops at most DISCARD_BYTES (or DISCARD_SECONDS) of what follows
    the refusal, then closes: sending on cannot keep the connection, nor the server,
    busy."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(
        b"POST /v2/customers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000000000\r\n\r\n"
    )
    started = time.monotonic()
    sent, closed = _send_until_closed(sock, seconds=DISCARD_SECONDS + 20)
    elapsed = time.monotonic() - started
    sock.close()
    assert closed, "the server never closed the connection"
    assert sent <= DISCARD_BYTES + 16 * MIB, sent  # the bound, plus what the buffers held
    assert elapsed < DISCARD_SECONDS + 10, elapsed
    _assert_healthy(server)
