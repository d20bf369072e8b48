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
phase; each connection to an address checked when the host name was resolved:
``notifications/transport.py``). A 2xx answer is a success. A 410 Gone fails the
delivery and deactivates the webhook (why and when recorded on it). Anything
else, a timeout, a refused or closed connection or a blocked address is a failed
attempt, retried after an exponential backoff with jitter (no sooner than a
429's or 503's ``Retry-After``, within the longest delay) until
``give_up_seconds`` have passed, then marked failed
(``POST /v3/webHooks/eventLog/{id}/redeliver`` sends it again).
"""

from __future__ import annotations

import email.utils
import logging
import random
import secrets
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC

import httpx
import orjson

from eventrail.config import Settings
from eventrail.db import Database
from eventrail.kit.dates import now_ms
from eventrail.kit.dbhealth import is_unavailable
from eventrail.notifications import names, signing
from eventrail.notifications.emit import subscribers
from eventrail.notifications.repository import Claimed, NotificationRepository
from eventrail.notifications.transport import PinnedTransport
from eventrail.notifications.urls import BlockedAddress, Resolver, system_resolver

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

    def retry_delay_ms(self, attempts: int, retry_after_ms: int | None = None) -> int:
        """The backoff, or the receiver's ``Retry-After`` when that is later; never more
        than the longest delay."""
        delay = self.backoff_ms(attempts)
        if retry_after_ms is not None:
            delay = max(delay, min(retry_after_ms, int(self.retry_max_seconds * 1000)))
        return delay


# A receiver that answers 410 Gone says the endpoint is no more (as Stripe and Svix
# read it): the delivery fails and the webhook is deactivated until an admin makes
# it active again (PUT ... "active": true); its pending deliveries wait for that.
GONE = 410
GONE_ERROR = "HTTP 410: the receiver is gone; the webhook was deactivated"
GONE_REASON = "the receiver answered 410 Gone"

# The statuses whose Retry-After says when to come back (RFC 9110, 10.2.3).
RETRY_AFTER_STATUSES = frozenset({429, 503})


def retry_after_ms(value: str | None, now: float) -> int | None:
    """A ``Retry-After`` value (delay seconds or an HTTP date) as milliseconds from
    ``now`` (Unix seconds); None when absent or not understood."""
    text = (value or "").strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        try:
            return min(int(text), 10**9) * 1000
        except ValueError:  # more digits than int() takes
            return None
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # "-0000": UTC, by RFC 5322
        moment = moment.replace(tzinfo=UTC)
    return max(int((moment.timestamp() - now) * 1000), 0)


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
    retry_after_ms: int | None = None  # a 429's or 503's Retry-After


class Notifier:
    """``resolver`` (host, port -> addresses) and ``verify`` (the TLS trust) are the
    system's unless given (tests give their own)."""

    def __init__(
        self,
        db: Database,
        policy: DeliveryPolicy,
        *,
        resolver: Resolver = system_resolver,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.db = db
        self.policy = policy
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._busy = 0
        self._lock = threading.Lock()
        transport = PinnedTransport(
            resolver,
            allow_private=policy.allow_private,
            limits=httpx.Limits(max_connections=max(policy.senders, 1) * 2),
            verify=verify,
        )
        self._client = httpx.Client(
            transport=transport,
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(policy.timeout_seconds),
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
            # The transport resolves the host and checks every address (BlockedAddress).
            # A stored header that eventrail sets (kept from before a name was reserved)
            # is left out: the signer's, the body's and the connection's are ours only.
            stored: dict[str, str] = orjson.loads(item.headers)
            headers = {k: v for k, v in stored.items() if not names.is_reserved_header(k)}
            headers["content-type"] = "application/json"
            headers.update(signing.headers(item.secret, item.id, int(time.time()), body))
            with self._client.stream(item.method, item.url, content=body, headers=headers) as r:
                read = 0
                deadline = started + self.policy.timeout_seconds
                for chunk in r.iter_raw():
                    read += len(chunk)
                    if read >= _KEPT_RESPONSE_BYTES or time.perf_counter() > deadline:
                        break
                status = r.status_code
                if 200 <= status < 300:
                    return Outcome(True, status, took(), "")
                wait = None
                if status in RETRY_AFTER_STATUSES:
                    wait = retry_after_ms(r.headers.get("retry-after"), time.time())
                if wait is not None:
                    error = f"HTTP {status} (Retry-After: {wait // 1000} s)"
                    return Outcome(False, status, took(), error, wait)
                return Outcome(False, status, took(), f"HTTP {status}")
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
            if outcome.status == GONE:
                deactivated = repo.gone(
                    item.org_id,
                    item.id,
                    item.webhook_id,
                    item.token,
                    now,
                    took_ms=outcome.took_ms,
                    error=GONE_ERROR,
                    reason=GONE_REASON,
                )
                if deactivated:
                    subscribers.clear()  # this process stops writing its notifications now
                    log.warning(
                        "webhook %s of org %s answered 410 Gone: deactivated",
                        item.webhook_id,
                        item.org_id,
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
                retry_at=now + self.policy.retry_delay_ms(attempts, outcome.retry_after_ms),
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
