"""Delivery workers: send the outbox's notifications, at least once, in order per
(webhook, entity).

A dispatcher thread claims due deliveries in short transactions
(``NotificationRepository.claim``: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the
write lock on SQLite), so the workers of every server and ``eventrail process``
on one database share the work and never send one delivery twice at once. A
claim sets a lease (twice the timeout, plus 5 s) and a random token; the outcome
is written only if the token still matches, and a delivery whose lease ran out
(its process died) is claimed again: at least once, so receivers deduplicate on
``webhook-id``. A pool of sender threads sends the claimed requests
(``httpx``, no redirects, no proxies from the environment, the timeout for each
phase). A 2xx answer is a success; anything else, a timeout, a refused or
closed connection or a blocked address is a failed attempt, retried after an
exponential backoff with jitter until ``give_up_seconds`` have passed, then
marked failed (``POST /v3/webHooks/eventLog/{id}/redeliver`` sends it again).
"""

from __future__ import annotations

import logging
import random
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import orjson

from eventrail.config import Settings
from eventrail.db import Database
from eventrail.kit.dates import now_ms
from eventrail.kit.dbhealth import is_unavailable
from eventrail.notifications import signing
from eventrail.notifications.repository import Claimed, NotificationRepository
from eventrail.notifications.urls import BlockedAddress, resolve_public

log = logging.getLogger("eventrail.notifications")

_KEPT_RESPONSE_BYTES = 64 * 1024
STOP_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    timeout_seconds: float = 15.0
    retry_base_seconds: float = 5.0
    retry_max_seconds: float = 3600.0
    give_up_seconds: float = 3 * 86400.0
    allow_private: bool = False
    senders: int = 4
    idle_seconds: float = 0.5

    @property
    def lease_ms(self) -> int:
        return int((self.timeout_seconds * 2 + 5) * 1000)

    def backoff_ms(self, attempts: int) -> int:
        """Exponential (base * 2^(n-1), capped), with full jitter over its upper half."""
        delay = min(self.retry_base_seconds * 2 ** max(attempts - 1, 0), self.retry_max_seconds)
        return int(delay * (0.5 + random.random() / 2) * 1000)  # noqa: S311 (jitter)


def policy_from(settings: Settings) -> DeliveryPolicy:
    return DeliveryPolicy(
        timeout_seconds=settings.notify_timeout_seconds,
        retry_base_seconds=settings.notify_retry_base_seconds,
        retry_max_seconds=settings.notify_retry_max_seconds,
        give_up_seconds=settings.notify_give_up_seconds,
        allow_private=settings.notify_allow_private,
        senders=settings.notify_senders,
    )


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    status: int | None
    took_ms: int
    error: str


class Notifier:
    def __init__(self, db: Database, policy: DeliveryPolicy) -> None:
        self.db = db
        self.policy = policy
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._busy = 0
        self._lock = threading.Lock()
        self._client = httpx.Client(
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(policy.timeout_seconds),
            limits=httpx.Limits(max_connections=max(policy.senders, 1) * 2),
            headers={"user-agent": "eventrail-notifications"},
        )

    # -- lifecycle ----------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._pool = ThreadPoolExecutor(
            max_workers=max(self.policy.senders, 1), thread_name_prefix="eventrail-notify"
        )
        self._thread = threading.Thread(
            target=self._loop, name="eventrail-notify-dispatcher", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """Claim nothing more; wait for the requests in flight (their outcome is
        written); one still running after ``timeout`` is left to its lease."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._client.close()

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                claimed = self.dispatch_once()
            except Exception as exc:
                if is_unavailable(exc):
                    self.db.health.failed(exc)
                else:
                    log.exception("claiming notifications failed")
                self._stopping.wait(1.0)
                continue
            if claimed == 0:
                self._wake.wait(self.policy.idle_seconds)
                self._wake.clear()

    def dispatch_once(self) -> int:
        """Claim as many due deliveries as there are free senders and hand them over."""
        pool = self._pool
        if pool is None:
            return 0
        with self._lock:
            free = max(self.policy.senders - self._busy, 0)
        if free == 0:
            self._stopping.wait(0.01)
            return 0
        claimed = self.claim(free)
        for item in claimed:
            with self._lock:
                self._busy += 1
            pool.submit(self._send_and_record, item)
        return len(claimed)

    def _send_and_record(self, item: Claimed) -> None:
        try:
            self.record(item, self.send(item))
        except Exception:
            log.exception("a notification's outcome could not be written (its lease will end)")
        finally:
            with self._lock:
                self._busy -= 1
            self._wake.set()

    # -- the steps (public for the tests and `drain`) ----------------------------------
    def claim(self, limit: int) -> list[Claimed]:
        with self.db.transaction(write=True) as session:
            repo = NotificationRepository(session)
            now = now_ms()
            repo.release_expired(now)
            tokens = [secrets.token_hex(16) for _ in range(limit)]
            return repo.claim(now, limit, self.policy.lease_ms, tokens)

    def send(self, item: Claimed) -> Outcome:
        body = item.payload.encode()
        started = time.perf_counter()

        def took() -> int:
            return int((time.perf_counter() - started) * 1000)

        try:
            if not self.policy.allow_private:
                parts = urlsplit(item.url)
                resolve_public(parts.hostname or "", parts.port or 443)
            headers: dict[str, str] = dict(orjson.loads(item.headers))
            headers["content-type"] = "application/json"
            headers.update(signing.headers(item.secret, item.id, int(time.time()), body))
            with self._client.stream(item.method, item.url, content=body, headers=headers) as r:
                read = 0
                deadline = started + self.policy.timeout_seconds
                for chunk in r.iter_raw():
                    read += len(chunk)
                    if read >= _KEPT_RESPONSE_BYTES or time.perf_counter() > deadline:
                        break
                ok = 200 <= r.status_code < 300
                return Outcome(ok, r.status_code, took(), "" if ok else f"HTTP {r.status_code}")
        except BlockedAddress as exc:
            return Outcome(False, None, took(), f"blocked: {exc}")
        except httpx.TimeoutException:
            return Outcome(False, None, took(), "timeout")
        except httpx.HTTPError as exc:
            return Outcome(False, None, took(), f"connection: {type(exc).__name__}")

    def record(self, item: Claimed, outcome: Outcome) -> None:
        with self.db.transaction(write=True) as session:
            repo = NotificationRepository(session)
            now = now_ms()
            if outcome.ok:
                repo.delivered(
                    item.org_id, item.id, item.token, now, outcome.status or 200, outcome.took_ms
                )
                return
            attempts = repo.attempts(item.org_id, item.id)
            repo.attempt_failed(
                item.org_id,
                item.id,
                item.token,
                now,
                status=outcome.status,
                took_ms=outcome.took_ms,
                error=outcome.error,
                give_up_ms=int(self.policy.give_up_seconds * 1000),
                retry_at=now + self.policy.backoff_ms(attempts),
            )

    def drain(self, timeout: float = 30.0) -> int:
        """Send, in this thread, until nothing is due (tests and the demo); how many were sent."""
        total = 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            claimed = self.claim(max(self.policy.senders, 1))
            if not claimed:
                return total
            for item in claimed:
                self.record(item, self.send(item))
            total += len(claimed)
        return total
