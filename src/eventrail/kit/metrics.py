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
and looks up a dict): the request middleware keeps its own map of them, the
others are resolved here at import.
"""

from __future__ import annotations

import os
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
    """Counts the processed events of a committed batch, by status (None: unauthorized)."""
    for status in statuses:
        _PROCESSED.get(status or "UNAUTHORIZED", _PROCESSED_OTHER).inc()


def directory() -> str | None:
    """The directory this process writes its metrics to (None: kept in memory)."""
    return os.environ.get(DIRECTORY_VARIABLE) or None


def process_ended() -> None:
    """This process stops recording: drop its live gauges, if any (its counters stay,
    so that the totals do not go back while the others run)."""
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
    writing to this one's directory (or by this process alone), and ``computed``."""
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
