"""The harness's report: figures over ceilings, the 1M-to-10M comparison, the
victim's read under attack (bench.attack), and the layouts' balancer and figures
(bench.layouts)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from bench.attack import _steady, attack_rows, effective_p99, summarize
from bench.compare import slowdowns
from bench.layouts import KINDS, Clocks, haproxy_config, medians, metric_value, per_event, table
from bench.run import CpuClock, backend_database, cpu_rows, per_request, rows


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
    # busy for 0.3 s of CPU, says so, then idle until killed: read while it is alive
    # (/proc forgets a reaped process), however slowly a busy machine runs it
    busy = (
        "import time\nt = time.process_time()\n"
        "while time.process_time() - t < 0.3: pass\nprint('done', flush=True)\ntime.sleep(60)"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", busy], stdout=subprocess.PIPE, start_new_session=True
    )
    try:
        clock = CpuClock(child.pid)
        before = clock.snapshot()
        assert child.stdout is not None
        assert child.stdout.readline() == b"done\n"
        after = clock.snapshot()
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
    spent = CpuClock.spent(before, after)
    assert 0.15 <= spent["server"] <= 0.5
    figures = per_request({"server": 0.5, "database": 0.25}, 1000, 2.0)
    assert figures["us"] == {"server": 500.0, "database": 250.0}
    assert figures["cores"] == {"server": 0.25, "database": 0.125}


# -- bench.attack: the victim's read under attack -------------------------------------
def _victim(p99: float, *, timeouts: int = 0, requests: int = 10_000, failed: int = 0) -> Any:
    return {
        "ok_per_s": requests / 5,
        "requests": requests,
        "timeouts": timeouts,
        "p50_ms": p99 / 4,
        "p99_ms": p99,
        "probe": {"probes": 20, "failed": failed, "max_ms": p99},
    }


def _window(
    p99: float,
    base: float = 10.0,
    *,
    state: str = "ok",
    rss: tuple[float, float] = (100.0, 100.0),
    db: float = 0.0,
    **victim: Any,
) -> dict[str, Any]:
    """An attack window with the victim's p99, after a baseline window's ``base``."""
    return {
        "victim": _victim(p99, **victim),
        "baseline": _victim(base),
        "attackers": [{"kind": "x", "sent": 3, "statuses": {"401": 3}, "cpu_s": 0.5}],
        "state": state,
        "rss_before_mb": rss[0],
        "rss_after_mb": rss[1],
        "db_growth_mb": db,
    }


def _attacked(**attacks: list[dict[str, Any]]) -> dict[str, Any]:
    baseline = [w["baseline"] for windows in attacks.values() for w in windows]
    return {"baseline": baseline, "attacks": attacks, "events": []}


def test_the_p99_counts_what_wrk_timed_out() -> None:
    assert effective_p99(_victim(12.0), 2000) == 12.0
    # 1% of timeouts or less: the p99 of the answered requests stands
    assert effective_p99(_victim(12.0, timeouts=100, requests=9_900), 2000) == 12.0
    assert effective_p99(_victim(12.0, timeouts=102, requests=9_900), 2000) == 2000
    assert effective_p99(_victim(0.0, requests=0), 2000) == 2000


def test_the_ratio_is_the_median_of_each_window_over_the_baseline_before_it() -> None:
    out = _attacked(
        # ratios 2.0, 2.2, 0.5: the slow baseline of the third round is its own
        header=[
            _window(20.0, 10.0, rss=(100, 180)),
            _window(22.0, 10.0, rss=(180, 260)),
            _window(60.0, 120.0, rss=(260, 300)),
        ],
        # ratios 1.9, 2.1, 2.5
        poison=[_window(19.0, 10.0, db=1.5), _window(21.0, 10.0, db=2.0), _window(25.0, db=0.5)],
    )
    summary = summarize(out, 2000)
    assert summary["baseline"]["p99_ms"] == 10.0
    header, poison = summary["header"], summary["poison"]
    assert header["p99_ms"] == 22.0 and header["ratio"] == 2.0 and header["met"]
    assert (header["rss_before_mb"], header["rss_after_mb"], header["rss_growth_mb"]) == (
        100,
        300,
        200,
    )
    assert header["statuses"] == {"401": 9}
    assert poison["p99_ms"] == 21.0 and poison["ratio"] == 2.1 and not poison["met"]
    assert poison["db_growth_mb"] == 4.0
    table = {row[0]: row[1:] for row in attack_rows(out, 2000)}
    assert table["none (baseline)"][:3] == ("2,000", "2.5", "10.0")
    assert table["header"][5:7] == ("2.00", "met")
    assert table["poison"][5:7] == ("2.10", "NOT met")
    assert table["header"][7] == "100 -> 300 (+200)"
    assert "redos" not in table


def test_a_frozen_server_or_an_unanswered_request_misses_the_target() -> None:
    out = _attacked(
        redos=[_window(11.0, requests=0, state="frozen")],
        anonymous=[_window(11.0), _window(11.0, failed=1), _window(11.0)],
        header=[_window(11.0, timeouts=1), _window(11.0), _window(11.0)],
        poison=[_window(11.0, state="stalled"), _window(11.0), _window(11.0)],
    )
    summary = summarize(out, 2000)
    redos = summary["redos"]
    assert redos["state"] == "frozen" and redos["at_timeout"] and not redos["met"]
    assert not summary["anonymous"]["met"] and not summary["header"]["met"]
    # a queue left undrained is reported, but the read's target is about the read
    assert summary["poison"]["state"] == "stalled" and summary["poison"]["met"]
    table = {row[0]: row[1:] for row in attack_rows(out, 2000)}
    assert table["redos"][2] == ">= 2000" and table["redos"][5] == ">= 200"
    assert table["redos"][9] == "frozen (1 rounds)"
    assert table["anonymous"][3] == "0 / 1 of 60"


def test_a_steady_attacker_stops_by_itself() -> None:
    calls: list[float] = []

    def call(i: int) -> str:
        calls.append(time.monotonic())
        if i == 1:
            raise httpx.ReadTimeout("slow")
        return "200"

    start = time.monotonic()
    statuses = _steady(20.0, 0.5, call)
    assert time.monotonic() - start < 2.0  # 0.45 s, on a busy machine
    assert statuses == {"200": 9, "timeout": 1}
    assert calls[-1] - calls[0] >= 0.4  # spread over the window, not in a burst

    # a server that answers no more: the call that outlasts the window is the last
    def hangs(i: int) -> str:
        calls.append(time.monotonic())
        time.sleep(0.6)
        return "200"

    calls.clear()
    assert _steady(20.0, 0.5, hangs) == {"200": 1} and len(calls) == 1


# -- bench.layouts: the balancer and the figures of each layout ---------------------------
ROOT = Path(__file__).resolve().parents[1]


def _section(text: str, name: str) -> list[str]:
    """The lines of one section (``name`` ... the next line that starts another)."""
    lines = text.splitlines()
    start = lines.index(name)
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i] and not lines[i].startswith(" ")),
        len(lines),
    )
    return [line.strip() for line in lines[start + 1 : end] if line.strip()]


def test_the_balancer_routes_by_readiness_and_fails_open_to_the_live_servers() -> None:
    config = haproxy_config("127.0.0.1:9000", ["127.0.0.1:8001", "127.0.0.1:8002"])
    frontend = _section(config, "frontend eventrail")
    assert "bind 127.0.0.1:9000" in frontend
    # the client's address, replacing whatever the client sent
    assert "http-request set-header X-Forwarded-For %[src]" in frontend
    assert frontend[-2:] == ["use_backend ready if { nbsrv(ready) gt 0 }", "default_backend alive"]
    for name, check in (("ready", "/ready"), ("alive", "/health")):
        backend = _section(config, f"backend {name}")
        assert f"option httpchk GET {check}" in backend
        assert "balance leastconn" in backend
        assert backend[-2:] == ["server s1 127.0.0.1:8001", "server s2 127.0.0.1:8002"]
        assert any(line.startswith("default-server check ") for line in backend)
    defaults = _section(config, "defaults")
    # a ?wait=true post may wait 30 s for its verdict: the balancer must wait longer
    [server_timeout] = [line for line in defaults if line.startswith("timeout server ")]
    assert int(server_timeout.split()[-1].removesuffix("s")) > 30
    assert "option http-keep-alive" in defaults
    assert "log global" not in defaults
    assert "log global" in _section(haproxy_config(":80", ["a:1"], log=True), "defaults")


def test_the_deploy_docs_show_the_configuration_the_bench_runs() -> None:
    docs = (ROOT / "docs" / "deploy.md").read_text()
    assert haproxy_config(":80", ["10.0.0.7:8000", "10.0.0.8:8000"], log=True) in docs


def test_per_event_counts_the_deployment_without_the_load_generator() -> None:
    cpu = {"eventrail": 1.5, "balancer": 0.25, "database": 0.75, "load generator": 0.5}
    figures = per_event(cpu, 10_000, 2.0)
    assert figures["cpu_us"] == {
        "eventrail": 150.0,
        "balancer": 25.0,
        "database": 75.0,
        "load generator": 50.0,
    }
    assert figures["cores"] == 1.25  # 2.5 CPU seconds (wrk's left out) over 2 s
    assert figures["per_core_s"] == 4_000.0  # 10,000 events over 2.5 CPU seconds
    assert per_event({"eventrail": 0.0, "load generator": 1.0}, 0, 1.0)["per_core_s"] == 0.0


def _layout_run(
    acknowledged: float, p99: float, eventrail_us: float, by_server: tuple[float, ...] = (1.0,)
) -> dict[str, Any]:
    cpu = {"eventrail": eventrail_us, "balancer": 20.0, "database": 80.0, "load generator": 30.0}
    return {
        "acknowledged_by_server": list(by_server),
        "acknowledged_per_s": acknowledged,
        "p50_ms": p99 / 4,
        "p99_ms": p99,
        "errors": 0,
        "processed_per_s": acknowledged * 0.99,
        "processed_during_posting_per_s": acknowledged * 0.98,
        "backlog_at_end": 3,
        "cores": 1.5,
        "events_per_core_s": acknowledged / 1.5,
        "wait_true_p50_ms": 18.0,
        "wait_true_p90_ms": 27.0,
        "cpu_us_per_event": cpu,
        "read": {
            "ok_per_s": acknowledged,
            "p50_ms": 2.0,
            "p99_ms": p99,
            "errors": 1,
            "cores": 1.0,
            "per_core_s": acknowledged,
            "cpu_us_per_request": cpu,
        },
    }


def test_the_layouts_table_shows_the_median_of_each_figure() -> None:
    summary = {
        "in-process": medians(
            [_layout_run(4_000, 80, 140), _layout_run(3_000, 60, 160), _layout_run(5_000, 70, 150)]
        ),
        "balanced": medians(
            [
                _layout_run(6_000, 30, 200, (5_200, 4_800)),
                _layout_run(6_000, 30, 200, (4_000, 6_000)),
                _layout_run(6_000, 30, 200, (3_000, 1_000)),
            ]
        ),
    }
    assert summary["in-process"]["acknowledged_per_s"] == 4_000
    assert summary["in-process"]["p99_ms"] == 70
    assert summary["in-process"]["cpu_us_per_event"]["eventrail"] == 150
    assert set(summary["in-process"]["read"]["cpu_us_per_request"]) == set(KINDS)
    rows = {row[0]: row[1:] for row in table(summary)}
    assert rows["acknowledged ev/s"] == ("4,000", "6,000")
    assert rows["p50 / p99 of the acknowledgement"] == ("17.5 / 70.0 ms", "7.5 / 30.0 ms")
    assert rows["CPU µs per event: eventrail / balancer / db / wrk"] == (
        "150 / 20 / 80 / 30",
        "200 / 20 / 80 / 30",
    )
    assert rows["events/s per core (without wrk)"] == ("2,667", "4,000")
    # each server's share of the posts: the median of 52%, 40% and 75%, and of the rest
    assert rows["posts acknowledged by each server"] == ("100%", "52% / 48%")
    assert rows["errors (wrk, posts + reads)"] == ("0 + 1", "0 + 1")


def test_metric_value_reads_one_unlabelled_metric() -> None:
    text = (
        "# HELP eventrail_events_acknowledged_total events acknowledged\n"
        "# TYPE eventrail_events_acknowledged_total counter\n"
        "eventrail_events_acknowledged_total 1234.0\n"
        'eventrail_events_processed_total{status="SUCCESS"} 99.0\n'
    )
    assert metric_value(text, "eventrail_events_acknowledged_total") == 1234.0
    assert metric_value(text, "eventrail_events_processed") == 0.0


def test_a_backends_database_is_read_from_its_process_title() -> None:
    title = "postgres: 15/main: postgres eventrail_bench_1a2b 127.0.0.1(41658) idle"
    assert backend_database(title) == "eventrail_bench_1a2b"
    assert backend_database("postgres: app shop [local] SELECT") == "shop"
    assert backend_database("postgres: 15/main: checkpointer ") is None
    assert backend_database("postgres: 15/main: logical replication launcher") is None
    assert backend_database("/usr/lib/postgresql/15/bin/postgres -D /var/lib/x") is None


def test_the_clocks_tell_the_balancer_from_eventrail() -> None:
    # busy for a while, says so, then idle until killed (read while alive: /proc
    # forgets a reaped process)
    busy = (
        "import time\nt = time.process_time()\n"
        "while time.process_time() - t < {}: pass\nprint('done', flush=True)\ntime.sleep(60)"
    )
    children = [
        subprocess.Popen(
            [sys.executable, "-c", busy.format(s)], stdout=subprocess.PIPE, start_new_session=True
        )
        for s in (0.4, 0.1)
    ]
    try:
        clocks = Clocks([children[0].pid], balancer=children[1].pid)
        mark = clocks.mark()
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline() == b"done\n"
        spent = clocks.since(mark)
    finally:
        for child in children:
            child.kill()
            child.wait()
            if child.stdout is not None:
                child.stdout.close()
    assert set(spent) == set(KINDS)
    assert 0.2 <= spent["eventrail"] <= 0.6
    assert 0.03 <= spent["balancer"] <= 0.2
    assert spent["load generator"] < 0.05  # nothing waited for meanwhile


# -- bench.writes: eventrail's audited writes against the Django peer ------------------
def test_writes_counts_the_backends_of_its_databases_and_the_background_processes() -> None:
    from bench.writes import counts_for

    mine = {"eventrail_bench_1"}
    backend = b"postgres: 15/main: postgres eventrail_bench_1 127.0.0.1(4242) idle\x00"
    other = b"postgres: 15/main: postgres test 127.0.0.1(4343) UPDATE\x00"
    assert counts_for(backend, mine)
    assert not counts_for(other, mine)
    assert counts_for(b"postgres: postgres eventrail_bench_1 [local] idle", mine)
    assert not counts_for(b"postgres: postgres test [local] idle", mine)
    assert counts_for(b"postgres: 15/main: walwriter ", mine)
    assert counts_for(b"postgres: checkpointer", mine)
    assert counts_for(b"/usr/lib/postgresql/15/bin/postgres\x00-D\x00/var/lib/x\x00", mine)
    assert counts_for(b"postgres: 15/main: autovacuum worker eventrail_bench_1", mine)
    assert not counts_for(b"postgres: 15/main: autovacuum worker test", mine)


def test_writes_table_gives_medians_and_the_ratio_of_server_plus_database() -> None:
    from bench.writes import figures_of, summarize, table

    def run(ok: float, server: float, db: float) -> dict[str, Any]:
        raw = {
            "ok_per_s": ok,
            "p50_ms": 5.0,
            "p99_ms": 20.0,
            "requests": 1000,
            "errors": 0,
            "cpu": {
                "us": {"server": server, "database": db, "load generator": 30.0},
                "cores": {"server": 1.0, "database": 0.4, "load generator": 0.1},
            },
        }
        return figures_of(raw)

    eventrail = summarize([run(300, 3000, 1000), run(200, 9000, 1500), run(250, 4000, 1200)])
    django = summarize([run(200, 6000, 1400), run(210, 7000, 1500), run(190, 6500, 1450)])
    assert eventrail["ok_per_s"] == 250
    assert eventrail["total_us"] == 5200  # the median of 4000, 10500, 5200
    assert django["total_us"] == 7950
    assert eventrail["cores"] == 1.5
    rows = table(
        {"update": {"eventrail": eventrail, "django": django}, "status": {"eventrail": eventrail}}
    )
    assert [r[:2] for r in rows] == [
        ("update", "eventrail"),
        ("update", "django"),
        ("update", "ratio"),
        ("status", "eventrail"),
    ]
    assert rows[2][7] == f"{5200 / 7950:.2f}"
