"""The harness's report: figures over ceilings, and the 1M-to-10M comparison."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

from bench.compare import slowdowns
from bench.run import CpuClock, cpu_rows, per_request, rows


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


def _cpu(server: float, database: float, load: float) -> dict[str, Any]:
    us = {"server": server, "database": database, "load generator": load}
    return {"us": us, "cores": {k: v / 1e6 * 10_000 for k, v in us.items()}}


def _cpu_table(
    kind: str, events: tuple[float, float], read: dict[str, Any], own_p50_ms: float
) -> dict[str, tuple[str, ...]]:
    """cpu_rows of one database: ceilings of 50 us (GET) and 40 us (POST) of bare
    stack, events of 300 us of server with ``events`` (plain, unique) of database."""
    results = _results(10**6, 3_000)
    results["ceilings"]["get@16"]["cpu"] = _cpu(30, 0, 20)
    results["ceilings"]["post@64"]["cpu"] = _cpu(25, 0, 15)
    results[kind] = out = results.pop("postgresql")
    out["ingest"]["plain@64"]["cpu"] = _cpu(300, events[0], 10)
    out["ingest"]["unique@64"] = {**_ingest(1, 1), "cpu": _cpu(300, events[1], 10)}
    out["reads"]["logs (no filter)"]["cpu"] = read
    out["db_reads"]["logs (no filter)"]["p50_ms"] = own_p50_ms
    return {row[0]: row[1:] for row in cpu_rows(results)}


def test_cpu_rows_bound_a_read_by_the_databases_share() -> None:
    table = _cpu_table("postgresql", (120, 160), _cpu(200, 150, 15), 0.3)
    # a read: 50 / (50 + 150); an event: 40 / (40 + 120)
    assert table["[postgresql] logs (no filter)"] == ("200", "150", "15", "3.65", "0.25")
    assert table["[postgresql] event, acknowledged and processed, plain@64"][-1] == "0.25"
    assert table["[postgresql] event, acknowledged and processed, unique@64"][-1] == "0.20"
    assert table["ceiling: trivial GET @16"][-1] == ""


def test_cpu_rows_take_sqlites_own_time_for_its_share() -> None:
    table = _cpu_table("sqlite", (0, 0), _cpu(100, 0, 15), 0.05)
    assert table["[sqlite] logs (no filter)"][1:] == ("(50)", "15", "1.15", "0.50")
    assert table["[sqlite] event, acknowledged and processed, plain@64"][-1] == ""


def test_the_cpu_clock_sees_a_busy_process_group() -> None:
    busy = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass"
    child = subprocess.Popen([sys.executable, "-c", busy], start_new_session=True)
    clock = CpuClock(child.pid)
    before = clock.snapshot()
    time.sleep(0.1)  # started, not yet done
    after = clock.snapshot()
    child.wait()
    spent = CpuClock.spent(before, after)
    assert 0.02 <= spent["server"] <= 0.2
    figures = per_request({"server": 0.5, "database": 0.25}, 1000, 2.0)
    assert figures["us"] == {"server": 500.0, "database": 250.0}
    assert figures["cores"] == {"server": 0.25, "database": 0.125}
