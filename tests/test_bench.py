"""The harness's report: figures over ceilings, and the 1M-to-10M comparison."""

from __future__ import annotations

from typing import Any

from bench.compare import slowdowns
from bench.run import rows


def _read(rps: float, p99: float) -> dict[str, float]:
    return {"ok_per_s": rps, "p99_ms": p99}


def _ingest(rps: float, processed: float) -> dict[str, float]:
    return {"ok_per_s": rps, "p50_ms": 1.0, "p99_ms": 9.0, "processed_per_s": processed}


def _results(scale: int, logs_rps: float) -> dict[str, Any]:
    return {
        "scale": scale,
        "ceilings": {"get@16": {"rps": 10_000.0}, "post@64": {"rps": 20_000.0}},
        "postgresql": {
            "ingest": {"plain@64": _ingest(8_000, 7_000)},
            "db_insert_rows_per_s": 70_000.0,
            "burst": {
                "processed_during_burst_per_s": 6_000,
                "ok_per_s": 5_000,
                "backlog_at_end": 7,
            },
            "reads": {"logs (no filter)": _read(logs_rps, 4.0)},
            "db_reads": {"logs (no filter)": {"p99_ms": 0.5}},
            "peak_rss_mb": 300.0,
        },
    }


def test_rows_divide_by_the_ceilings_and_name_the_targets() -> None:
    table = {
        figure: (value, ceiling, ratio, target)
        for figure, value, ceiling, ratio, target in rows(_results(10**6, 3_000))
    }
    assert table["[postgresql] acknowledged ev/s plain@64"][2:] == ("0.40", ">= 0.4")
    assert table["[postgresql] processed ev/s plain@64"][2] == "0.10"
    assert table["[postgresql] burst: processed / acknowledged ev/s"][2] == "1.20"
    assert table["[postgresql] logs (no filter) req/s @16"][2:] == ("0.30", ">= 0.3")
    assert table["[postgresql] logs (no filter) p99 vs the db's own p99"][2:] == ("8.0x", "<= 3x")
    assert "[sqlite] peak RSS of the server (MB)" not in table


def test_slowdown_is_the_smaller_runs_rate_over_the_larger() -> None:
    [(figure, before, after, slowdown)] = slowdowns(_results(10**6, 3_000), _results(10**7, 2_000))
    assert figure == "[postgresql] logs (no filter)"
    assert before.startswith("3,000 req/s") and after.startswith("2,000 req/s")
    assert slowdown == "1.50x"


def test_a_read_that_never_answered_is_named_not_divided_by() -> None:
    [(_, _, after, slowdown)] = slowdowns(_results(10**6, 3_000), _results(10**7, 0))
    assert after.startswith("0 req/s")
    assert slowdown == "no answer in time"
