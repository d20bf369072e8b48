"""A webhook admits its sender before it reads the body (issue 11, finding 4).

Against a real `eventrail serve`: a stranger announces a ~900 KB post to an
`authEnabled` webhook, sends the headers and only the first 16 KiB of the body,
and waits for the answer. A server that read the body before checking the
credentials would wait for the rest (the test would time out); this one answers
401, then 429 once the stranger's refusal budget is spent, with the error
envelope, while most of the body is still unsent. Nothing here is timed: the
bound on the wait only keeps a broken server from hanging the test.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from tests.fixtures.durability import DEFINITION
from tests.fixtures.server import Server, cli_env, server_process
from tests.security.cluster import migrate_and_make_till

DECLARED = 900_000
SENT = 16 * 1024
BUDGET = 60  # ingest.service.REFUSALS_PER_MINUTE


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    data = tmp_path_factory.mktemp("admit")
    env = cli_env(f"sqlite:///{data}/admit.db", data)
    auth, till_code = migrate_and_make_till(env)
    with server_process(env) as server:
        with httpx.Client(base_url=server.base, headers=auth, timeout=30) as api:
            assert api.post("/v2/events", json=DEFINITION).status_code == 200
            r = api.post(
                "/v2/events/webhook",
                json={
                    "transformerType": "defaultTransformer",
                    "tillCode": till_code,
                    "authEnabled": True,
                    "authMechanism": "BASIC",
                },
            )
        assert r.status_code == 200, r.text
        yield server, r.json()["webHookId"]


def _half_sent_post(server: Server, webhook_id: str, headers: bytes = b"") -> bytes:
    """Headers declaring DECLARED bytes and SENT of them; what the server answers
    before the rest is sent (the rest never is)."""
    head = (
        f"POST /webhooks/{webhook_id} HTTP/1.1\r\nHost: x\r\n"
        f"Content-Type: application/json\r\nContent-Length: {DECLARED}\r\n"
    ).encode()
    body = b'{"event_name": "Visit", "blob": "' + b"a" * (SENT - 34)
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        sock.sendall(head + headers + b"\r\n" + body)
        received = b""
        while b"\r\n\r\n" not in received or not _complete(received):
            chunk = sock.recv(65536)  # TimeoutError: the server is waiting for the body
            if not chunk:
                break
            received += chunk
    return received


def _complete(answer: bytes) -> bool:
    head, _, body = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":", 1)[1])
    return body.endswith(b"0\r\n\r\n")  # chunked: the last chunk came


def _status_and_envelope(answer: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    # the rest of the body is dropped: the client must not reuse the connection
    assert b"\r\nconnection: close" in head.lower(), head
    if b"transfer-encoding: chunked" in head.lower():
        chunks, rest = [], body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line, 16)
            if size == 0:
                break
            chunks.append(rest[:size])
            rest = rest[size + 2 :]
        body = b"".join(chunks)
    return status, json.loads(body)


def test_an_anonymous_large_post_is_refused_before_its_body_is_sent(
    guarded: tuple[Server, str],
) -> None:
    server, webhook_id = guarded
    statuses = []
    for _ in range(BUDGET + 2):
        status, envelope = _status_and_envelope(_half_sent_post(server, webhook_id))
        statuses.append(status)
        assert envelope["errors"][0]["code"] == status, envelope  # type: ignore[index]
    # 401 while the stranger's refusals are within budget, then 429: every one
    # answered with only SENT of DECLARED bytes sent.
    assert set(statuses[:BUDGET]) == {401}, statuses
    assert statuses[-1] == 429, statuses
    # Wrong credentials are refused alike, before the body.
    wrong = b"Authorization: Basic " + b"bm9ib2R5Om5vdGhpbmc=" + b"\r\n"
    status, _ = _status_and_envelope(_half_sent_post(server, webhook_id, wrong))
    assert status == 429  # the same source: its budget is spent


def test_an_unknown_webhook_is_answered_before_the_body(guarded: tuple[Server, str]) -> None:
    server, _ = guarded
    status, envelope = _status_and_envelope(_half_sent_post(server, "f" * 32))
    assert status == 404, envelope
    # and the server goes on serving
    assert httpx.get(f"{server.base}/health", timeout=10).status_code == 200


def test_a_kept_alive_client_gets_every_answer(guarded: tuple[Server, str]) -> None:
    """An HTTP client that keeps its connection alive, sending whole 900 KB posts one
    after another, gets an answer to each (never a connection closed under its
    next request): the early answer says "Connection: close"."""
    server, webhook_id = guarded
    body = b'{"event_name": "Visit", "blob": "' + b"b" * (DECLARED - 40) + b'"}'
    with httpx.Client(base_url=server.base, timeout=30) as client:
        for _ in range(5):
            r = client.post(
                f"/webhooks/{webhook_id}",
                content=body,
                headers={"Content-Type": "application/json"},
            )
            assert r.status_code in (401, 429), r.text
            assert r.headers["connection"] == "close"
