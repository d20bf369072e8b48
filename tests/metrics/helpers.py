"""Reading GET /metrics: every sample by name and labels."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(base: str, **headers: str) -> tuple[Samples, str]:
    answer = httpx.get(f"{base}/metrics", headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(answer.text), answer.text


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; 0 for a labelled child not created yet."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def label_values(samples: Samples) -> Iterator[tuple[str, str]]:
    for _, labels in samples:
        yield from labels


def assert_aggregate(samples: Samples, text: str, *secrets: Any) -> None:
    """Nothing of any org in the scrape: no label names one (org, customer, event,
    till), no label value is one of ``secrets``, the text holds none of them."""
    names = {name for name, _ in label_values(samples)}
    assert names <= {"method", "route", "status", "budget", "le"}, names
    values = {value for _, value in label_values(samples)}
    for secret in secrets:
        assert str(secret) not in values, secret
        if len(str(secret)) >= 6:  # a short number (an org id) is found in any float
            assert str(secret) not in text, secret
