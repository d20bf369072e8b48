"""Prometheus metrics: every metric eventrail records, and how a scrape reads them.

Aggregate only: no label names an org, a customer, an event or a till, and each
label takes a few fixed values (route templates, HTTP statuses, processing
statuses, the names of the rate-limit budgets). docs/deploy.md ("Metrics") says
what each metric means for an operator.

One process or several. prometheus_client chooses its mode once, when it is
first imported: with ``PROMETHEUS_MULTIPROC_DIR`` set, every process writes its
values to files of its own in that directory (``<kind>_<pid>.db``) and a scrape
adds up the files of all of them; without it, values live in this process's
memory. ``eventrail serve`` and ``eventrail process`` set the variable from
``EVENTRAIL_METRICS_DIR`` (or, for ``serve --workers N`` without it, from a
private temporary directory) before anything imports this module: see
``kit/metrics_dir.py``.

Hot paths use children resolved once (``labels()`` builds a tuple, takes a lock
and looks up a dict), resolved here at import. The HTTP request metrics, taken for
every request, are tallied in plain dicts by the event loop that serves the
requests (:class:`RequestTally`) and written to prometheus_client's values at most
once a second, and before every scrape this process answers: a value written to a
multiprocess file costs a lock and an mmap write, three per request, about a tenth
of a read's CPU (bench/README.md). A scrape answered by another process of the
same server therefore sees this one's requests up to a second and a half late.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from bisect import bisect_left
from collections import Counter as Tally
from collections.abc import Iterable, Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import Metric

from eventrail.kit.metrics_dir import DIRECTORY_VARIABLE

# The counters' `_created` series (a timestamp per child) are not kept by the
# multiprocess mode either: without them, one process and several answer alike.
disable_created_metrics()  # type: ignore[no-untyped-call]
# The text format every Prometheus reads (2.x and 3.x); what generate_latest writes.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

# The route label of a request that matched no route (a 404, a refusal before routing).
UNMATCHED = "unmatched"

REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "eventrail_http_requests",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
    registry=REGISTRY,
)
REQUEST_SECONDS = Histogram(
    "eventrail_http_request_duration_seconds",
    "Time from a request's arrival at the application to the end of its answer",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
EVENTS_ACKNOWLEDGED = Counter(
    "eventrail_events_acknowledged",
    "Events stored durably and acknowledged with a request id (a batch counts its events)",
    registry=REGISTRY,
)
_EVENTS_PROCESSED = Counter(
    "eventrail_events_processed",
    "Events the processors wrote a log entry for, by processing status",
    ["status"],
    registry=REGISTRY,
)
BATCH_SIZE = Histogram(
    "eventrail_processor_batch_size",
    "Requests in each batch a processor claimed and committed",
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000),
    registry=REGISTRY,
)
BATCH_SECONDS = Histogram(
    "eventrail_processor_batch_duration_seconds",
    "Time from a batch's claim to its commit",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
_RATE_LIMIT_REFUSALS = Counter(
    "eventrail_rate_limit_refusals",
    "Requests refused with 429, by budget: requests (a credential's or an anonymous "
    "sender's per endpoint), refused_posts (webhook posts with wrong credentials, per "
    "source), logins (the failed-login lockout)",
    ["budget"],
    registry=REGISTRY,
)
DATABASE_ERRORS = Counter(
    "eventrail_database_errors",
    "Uses of the database that failed because it could not serve (connection lost or "
    "refused, lock or busy timeout, full disk); each was answered 503 or retried",
    registry=REGISTRY,
)
DATABASE_RECONNECTS = Counter(
    "eventrail_database_reconnects",
    "Database connections dropped as broken and opened anew",
    registry=REGISTRY,
)

# Processing statuses (processing/statuses.py) and the unauthorized posts' null status.
PROCESSED_STATUSES = (
    "EVENT_SUCCESS",
    "INVALID_META_TRANSFORMER_MAPPINGS",
    "INVALID_EVENT_NAME",
    "EVENT_FIELD_VALIDATION_FAILED",
    "INVALID_GROUP_IDENTIFIER_PASSED",
    "EMF_PROCESSOR_FAILED",
    "NO_CUSTOMER_DETAILS_PASSED",
    "INVALID_PAYLOAD",
    "EVENT_PROCESSING_FAILED",
    "UNAUTHORIZED",
)
_PROCESSED = {status: _EVENTS_PROCESSED.labels(status) for status in PROCESSED_STATUSES}
_PROCESSED_OTHER = _EVENTS_PROCESSED.labels("other")
REFUSALS = {
    budget: _RATE_LIMIT_REFUSALS.labels(budget)
    for budget in ("requests", "refused_posts", "logins")
}


def processed(statuses: Iterable[str | None]) -> None:
    """Counts the processed events of a committed batch, by status (None: unauthorized):
    one write per status, not per event."""
    for status, count in Tally(statuses).items():
        _PROCESSED.get(status or "UNAUTHORIZED", _PROCESSED_OTHER).inc(count)


# -- the HTTP request metrics, tallied ---------------------------------------------------
FLUSH_SECONDS = 1.0
_TALLIES: weakref.WeakSet[RequestTally] = weakref.WeakSet()


class RequestTally:
    """``REQUESTS`` and ``REQUEST_SECONDS`` of one application's requests, counted in
    plain dicts and written to the metrics at most every ``FLUSH_SECONDS``: by the
    request that finds the second over, by a timer for the last requests before a
    quiet spell, and by :func:`publish` before a scrape or when the process ends.

    Only the event loop's thread counts (the request middleware, and the handlers
    that acknowledge events through :func:`acknowledged`) and publishes, so the
    dicts need no lock: a scrape, which reads the values in a worker thread, calls
    :func:`publish` on the loop first."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, int], int] = {}
        # (method, route) -> [sum of seconds, count per bucket (REQUEST_SECONDS')...]
        self._durations: dict[tuple[str, str], list[float]] = {}
        self._due = 0.0
        self._timer: asyncio.AbstractEventLoop | None = None
        _TALLIES.add(self)

    def add(self, method: str, route: str, status: int, seconds: float, now: float) -> None:
        """One request answered; ``now`` is ``time.perf_counter()``."""
        key = (method, route, status)
        self._counts[key] = self._counts.get(key, 0) + 1
        spent = self._durations.get((method, route))
        if spent is None:
            spent = self._durations[(method, route)] = [0.0] * (len(_BOUNDS) + 1)
        spent[0] += seconds
        spent[1 + bisect_left(_BOUNDS, seconds)] += 1
        if now >= self._due:
            publish()
            self._due = now + FLUSH_SECONDS
            self._arm()

    def _arm(self) -> None:
        """A publish a second and a half from now on this loop, unless one is pending there:
        what the last requests before a quiet spell counted is written then."""
        loop = self._timer
        if loop is not None and not loop.is_closed():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # called outside a loop: the next request publishes
            return
        self._timer = loop
        loop.call_later(FLUSH_SECONDS * 1.5, self._timed)

    def _timed(self) -> None:
        self._timer = None
        publish()

    def publish(self) -> None:
        """Write what was counted since the last publish to the metrics."""
        counts, self._counts = self._counts, {}
        durations, self._durations = self._durations, {}
        for (method, route, status), count in counts.items():
            REQUESTS.labels(method, route, str(status)).inc(count)
        for (method, route), spent in durations.items():
            child = REQUEST_SECONDS.labels(method, route)
            # Histogram.observe() per request, summed: its sum and the bucket each
            # duration falls in (prometheus_client 0.26's children, pinned)
            child._sum.inc(spent[0])
            for bucket, observed in zip(child._buckets, spent[1:], strict=True):
                if observed:
                    bucket.inc(observed)


_BOUNDS: tuple[float, ...] = tuple(REQUEST_SECONDS._upper_bounds)


# Events acknowledged since the last publish (EVENTS_ACKNOWLEDGED), counted on the
# event loop like the tallies.
_acknowledged = 0


def acknowledged(events: int = 1) -> None:
    """Counts events acknowledged (stored durably, answered with a request id): on the
    event loop only, like every tally."""
    global _acknowledged
    _acknowledged += events


def publish() -> None:
    """Write every tally of this process to the metrics: on the event loop, before a
    scrape and at the end."""
    global _acknowledged
    events, _acknowledged = _acknowledged, 0
    if events:
        EVENTS_ACKNOWLEDGED.inc(events)
    for tally in list(_TALLIES):
        tally.publish()


def directory() -> str | None:
    """The directory this process writes its metrics to (None: kept in memory)."""
    return os.environ.get(DIRECTORY_VARIABLE) or None


def process_ended() -> None:
    """This process stops recording: drop its live gauges, if any (its counters stay,
    so that the totals do not go back while the others run)."""
    publish()
    path = directory()
    if path is not None:
        multiprocess.mark_process_dead(os.getpid(), path)  # type: ignore[no-untyped-call]


# -- the scrape ------------------------------------------------------------------------
class _Computed:
    """Metrics computed when scraped (the ingestion queue), beside the recorded ones."""

    def __init__(self, metrics: Iterable[Metric]) -> None:
        self.metrics = list(metrics)

    def collect(self) -> Iterator[Metric]:
        return iter(self.metrics)


def exposition(computed: Iterable[Metric] = ()) -> bytes:
    """Everything in Prometheus' text format: the values recorded by every process
    writing to this one's directory (or by this process alone), and ``computed``.
    Call :func:`publish` first, on the event loop."""
    registry = CollectorRegistry(auto_describe=False)
    path = directory()
    if path is not None:
        multiprocess.MultiProcessCollector(registry, path)  # type: ignore[no-untyped-call]
    else:
        registry.register(REGISTRY)
    registry.register(_Computed(computed))
    return generate_latest(registry)


def gauge(name: str, documentation: str, value: float) -> Metric:
    """A gauge computed at scrape time."""
    return GaugeMetricFamily(name, documentation, value=value)
