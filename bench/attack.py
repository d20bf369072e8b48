"""Under attack: does another org's read keep its latency while one org attacks?

    python -m bench.attack [--backends sqlite,postgresql] [--seconds 5] [--rounds 3]

For each database it starts a real ``eventrail serve`` (two workers, as
bench.run does) with a victim org (log entries loaded by bench/loader.py, its
own till) and an attacker org (its own till, event definitions and two
webhooks, one of them ``authEnabled``). wrk reads the victim's
``GET /v2/events/logs`` in windows of ``--seconds``: with no attack, then while
an attack runs from its own process (``python -m bench.attack --fire KIND``),
alternating, for each attack and for all of them at once, ``--rounds`` times.
The attacks (every one bounded in count and time, every call in time; all
traffic to 127.0.0.1):

- redos: a field whose ``regex`` backtracks (the first of REDOS_PATTERNS the
  server accepts), and events whose value is forty ``a`` and a ``!``;
- poison: a 300-digit ``customer`` with ``addCustomerIfNotExists``, a
  5,000-digit ``userId`` and a 5,000-digit group id;
- header: 4 MB till codes in ``Authorization: Basic``, each a new one;
- anonymous: ~900 KB posts with no credentials to the ``authEnabled`` webhook,
  as fast as two connections can.

After each attack window the server must answer the victim within
PROBE_SECONDS and empty its queue within DRAIN_SECONDS; otherwise it is
reported frozen (or stalled), killed, the attacker's queued requests are
deleted and it is started again. The table: per attack, the victim's p50, p99
and requests/s (medians over the rounds), p99 over the p99 of the baseline
window just before (the median of the rounds' ratios; target <= 2x), the
server's RSS and the database's growth. See bench/README.md.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench import loader
from bench.run import (
    BIN,
    PASSWORD,
    ROOT,
    Org,
    Progress,
    Server,
    _group_rss,
    _print_table,
    database,
    ensure_wrk,
    env_for,
    provision,
    serve,
    wrk,
)

ATTACKS = ("redos", "poison", "header", "anonymous")
SCENARIOS = (*ATTACKS, "all")
# The first the server accepts is used; a server that refuses backtracking patterns
# (400, code 1802) is recorded as doing so.
REDOS_PATTERNS = ("^(a+)+$", "^(a|a)*$", "^(a|aa)+$", "^(a*)*$", "^(a+)+", "^a+$")
REDOS_VALUE = "a" * 40 + "!"
REDOS_PER_S = 2.0
POISON_PER_S = 20.0
HEADER_PER_S = 2.0
HEADER_CODE_BYTES = 4 * 1024 * 1024
ANONYMOUS_CONNECTIONS = 2
ANONYMOUS_BODY_BYTES = 900 * 1024
ANONYMOUS_MAX = 500  # posts per window
CALL_TIMEOUT = 5.0  # every attacker call
VICTIM_TIMEOUT = 2.0  # wrk's, for the victim's reads
PROBE_SECONDS = 5.0  # the server answers the victim after an attack, or it is frozen
PROBE_EVERY = 0.25
PROBE_KEPT = 3
DRAIN_SECONDS = 10.0
TARGET = 2.0


# -- the attackers: each runs in its own process ---------------------------------------
def _steady(per_s: float, seconds: float, call: Callable[[int], str]) -> Counter[str]:
    """``call(i)`` at a steady rate for ``seconds`` (at most per_s * seconds calls; a
    call that outlasts the window is the last)."""
    statuses: Counter[str] = Counter()
    start = time.monotonic()
    for i in range(int(per_s * seconds) + 1):
        at = start + i / per_s
        if max(at, time.monotonic()) >= start + seconds:
            break
        time.sleep(max(0.0, at - time.monotonic()))
        statuses[_outcome(functools.partial(call, i))] += 1
    return statuses


def _outcome(call: Callable[[], str]) -> str:
    try:
        return call()
    except httpx.TimeoutException:
        return "timeout"
    except httpx.HTTPError as exc:
        return type(exc).__name__


def _redos(target: dict[str, Any], seconds: float) -> Counter[str]:
    with httpx.Client(base_url=target["base"], timeout=CALL_TIMEOUT) as client:

        def post(i: int) -> str:
            body = {"event_name": "Redos", "customer": loader.mobile(i), "code": REDOS_VALUE}
            return str(client.post(f"/webhooks/{target['webhook']}", json=body).status_code)

        return _steady(REDOS_PER_S, seconds, post)


def poison_bodies() -> list[dict[str, Any]]:
    return [
        {"event_name": "PoisonMobile", "customer": "9" * 300},
        {"event_name": "PoisonUser", "customer": "7" * 5000},
        {"event_name": "PoisonGroup", "customer": loader.mobile(1), "group": "5" * 5000},
    ]


def _poison(target: dict[str, Any], seconds: float) -> Counter[str]:
    bodies = poison_bodies()
    with httpx.Client(base_url=target["base"], timeout=CALL_TIMEOUT) as client:

        def post(i: int) -> str:
            body = bodies[i % len(bodies)]
            return str(client.post(f"/webhooks/{target['webhook']}", json=body).status_code)

        return _steady(POISON_PER_S, seconds, post)


def _header(target: dict[str, Any], seconds: float) -> Counter[str]:
    filler = "A" * HEADER_CODE_BYTES

    def get(i: int) -> str:
        # a new till code each time: the failed-login limiter sees a new key
        token = base64.b64encode(f"{i:08d}{filler}:guess".encode()).decode()
        with httpx.Client(base_url=target["base"], timeout=CALL_TIMEOUT) as client:
            answer = client.get("/v2/events/logs", headers={"Authorization": f"Basic {token}"})
            return str(answer.status_code)

    return _steady(HEADER_PER_S, seconds, get)


def anonymous_body() -> bytes:
    """~900 KB of JSON that does not compress (strings under the 64 KiB limit)."""
    blobs = {
        f"blob{i}": base64.b64encode(os.urandom(45_000)).decode()
        for i in range(ANONYMOUS_BODY_BYTES // 60_000)
    }
    return json.dumps({"event_name": "Anonymous", **blobs}).encode()


def _anonymous(target: dict[str, Any], seconds: float) -> Counter[str]:
    body = anonymous_body()
    statuses: Counter[str] = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    url = f"{target['base']}/webhooks/{target['guarded']}"
    headers = {"Content-Type": "application/json"}

    def connection() -> None:
        with httpx.Client(timeout=CALL_TIMEOUT) as client:
            while time.monotonic() < deadline:
                with lock:
                    if statuses.total() >= ANONYMOUS_MAX:
                        return
                outcome = _outcome(
                    lambda: str(client.post(url, content=body, headers=headers).status_code)
                )
                with lock:
                    statuses[outcome] += 1

    threads = [threading.Thread(target=connection) for _ in range(ANONYMOUS_CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


FIRE: dict[str, Callable[[dict[str, Any], float], Counter[str]]] = {
    "redos": _redos,
    "poison": _poison,
    "header": _header,
    "anonymous": _anonymous,
}


def fire(kind: str, target_file: Path, seconds: float) -> dict[str, Any]:
    target = json.loads(target_file.read_text())
    statuses = FIRE[kind](target, seconds)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "kind": kind,
        "sent": statuses.total(),
        "statuses": dict(statuses),
        "cpu_s": usage.ru_utime + usage.ru_stime,
    }


# -- the attacker's org -------------------------------------------------------------------
def _field(name: str, type_: str, **attributes: str) -> dict[str, Any]:
    return {
        "name": name,
        "type": type_,
        "attributes": {k: {"value": v, "valueType": "STRING"} for k, v in attributes.items()},
    }


def _mobile(**attributes: str) -> dict[str, Any]:
    return _field("customer", "customer", identifierType="mobile", **attributes)


def _check(answer: httpx.Response) -> None:
    if answer.status_code != 200:
        raise RuntimeError(f"attacker setup refused: {answer.status_code} {answer.text[:300]}")


def arm(base: str, attacker: Org) -> dict[str, Any]:
    """The attacker's definitions and webhooks, through the API as a tenant would;
    which ReDoS patterns the server refused and which one it took."""
    tried: list[dict[str, Any]] = []
    regex = None
    with httpx.Client(base_url=base, auth=(attacker.till, PASSWORD), timeout=30) as api:
        for pattern in REDOS_PATTERNS:
            answer = api.post(
                "/v2/events",
                json={
                    "eventName": "Redos",
                    "actions": ["EIConsumer"],
                    "fields": [_mobile(), _field("code", "string", regex=pattern)],
                },
            )
            code = answer.json().get("status", {}).get("code") if answer.status_code != 200 else 0
            tried.append({"pattern": pattern, "status": answer.status_code, "code": code})
            if answer.status_code == 200:
                regex = pattern
                break
        definitions = {
            "PoisonMobile": [_mobile(addCustomerIfNotExists="true")],
            "PoisonUser": [_field("customer", "customer", identifierType="userId")],
            "PoisonGroup": [_mobile(), _field("group", "groupId", groupIdentifierType="GroupId")],
            "Anonymous": [_mobile()],
        }
        for name, fields in definitions.items():
            _check(
                api.post(
                    "/v2/events",
                    json={"eventName": name, "actions": ["EIConsumer"], "fields": fields},
                )
            )
        hooks = {}
        for key, body in (
            ("webhook", {"transformerType": "defaultTransformer"}),
            (
                "guarded",
                {"transformerType": "Guarded", "authEnabled": True, "authMechanism": "BASIC"},
            ),
        ):
            answer = api.post("/v2/events/webhook", json={**body, "tillCode": attacker.till})
            _check(answer)
            hooks[key] = answer.json()["webHookId"]
    return {**hooks, "regex": regex, "regex_tried": tried}


# -- measuring -----------------------------------------------------------------------
def effective_p99(figures: dict[str, Any], timeout_ms: float) -> float:
    """The victim's p99 with the requests wrk timed out counted: wrk leaves them out
    of its percentiles, so past 1% of timeouts the p99 is at least the timeout."""
    answered, timeouts = figures["requests"], figures.get("timeouts", 0)
    if answered == 0 or timeouts / (answered + timeouts) > 0.01:
        return timeout_ms
    return float(figures["p99_ms"])


def db_size(url: str) -> int:
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        return int(row[0]) if row else 0


class Prober:
    """The victim's read every PROBE_EVERY seconds during a window, timed out at
    VICTIM_TIMEOUT, in turn on a new connection and on PROBE_KEPT kept-alive ones.
    wrk's connections are kept alive: one stuck on a frozen worker stops sending,
    and its percentiles show only the others (wrk counts it as a timeout every 2 s
    past the timeout); a new connection goes to a worker that still accepts."""

    def __init__(self, url: str, auth: str) -> None:
        self.url, self.headers = url, {"Authorization": auth}
        self.latencies: list[float | None] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with ExitStack() as stack:
            kept = [
                stack.enter_context(httpx.Client(timeout=VICTIM_TIMEOUT)) for _ in range(PROBE_KEPT)
            ]
            turn = 0
            while not self._stop.wait(PROBE_EVERY):
                slot, turn = turn % (len(kept) + 1), turn + 1
                client = kept[slot - 1] if slot else None
                start = time.perf_counter()
                try:
                    if client is None:
                        answer = httpx.get(self.url, headers=self.headers, timeout=VICTIM_TIMEOUT)
                    else:
                        answer = client.get(self.url, headers=self.headers)
                    ok = answer.status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.latencies.append((time.perf_counter() - start) * 1000 if ok else None)

    def figures(self) -> dict[str, Any]:
        answered = [x for x in self.latencies if x is not None]
        return {
            "probes": len(self.latencies),
            "failed": len(self.latencies) - len(answered),
            "max_ms": max(answered, default=0.0),
        }


class Bench:
    """One database: the server (restarted when an attack leaves it frozen), the
    victim's reads and the attackers' processes."""

    def __init__(
        self, kind: str, url: str, workdir: Path, victim: Org, attacker: Org, args: Any
    ) -> None:
        self.kind, self.url, self.workdir = kind, url, workdir
        self.victim, self.attacker = victim, attacker
        self.seconds: float = args.seconds
        self.connections: int = args.connections
        self.env = env_for(url, workdir)
        self.stack = ExitStack()
        self.server: Server | None = None
        self.target: dict[str, Any] = {}
        self.progress = Progress(url, [victim.org_id, attacker.org_id])
        self.paths = workdir / "victim-paths.txt"
        self.paths.write_text("/v2/events/logs\n")
        token = base64.b64encode(f"{victim.till}:{PASSWORD}".encode()).decode()
        self.victim_auth = f"Basic {token}"
        self.starts = 0

    def start(self) -> None:
        command = [str(BIN / "eventrail"), "serve", "--host", "127.0.0.1", "--workers", "2"]
        self.starts += 1
        log = self.workdir / f"server-{self.starts}.log"
        self.server = self.stack.enter_context(serve(command, self.env, "/openapi.json", log))
        self.target["base"] = self.server.base

    def restart(self) -> int:
        """Kill the server (a frozen one answers no SIGTERM), delete the attacker's
        queued requests (else it freezes again on them) and start it again."""
        assert self.server is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.server.process.pid, signal.SIGKILL)
        self.stack.close()
        self.stack = ExitStack()
        deleted = self.progress.delete_queued(self.attacker.org_id)
        self.start()
        self.window(None)  # warm up
        return deleted

    def window(self, scenario: str | None) -> dict[str, Any]:
        """wrk on the victim for one window, with the attackers of ``scenario`` running."""
        assert self.server is not None
        pgid = self.server.process.pid
        target_file = self.workdir / "target.json"
        target_file.write_text(json.dumps(self.target))
        rss_before, db_before = _group_rss(pgid), db_size(self.url)
        kinds = ATTACKS if scenario == "all" else (scenario,) if scenario else ()
        attackers = [
            subprocess.Popen(
                [
                    sys.executable,
                    *("-m", "bench.attack", "--fire", kind, "--target", str(target_file)),
                    *("--seconds", str(self.seconds)),
                ],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            for kind in kinds
        ]
        with Prober(f"{self.server.base}/v2/events/logs", self.victim_auth) as prober:
            victim = wrk(
                self.server.base,
                "get.lua",
                [str(self.paths), self.victim_auth],
                self.connections,
                self.seconds,
                timeout=VICTIM_TIMEOUT,
            )
        victim["probe"] = prober.figures()
        fired = [_collect(process, self.seconds + CALL_TIMEOUT + 10) for process in attackers]
        state = self.settle() if scenario else "ok"
        return {
            "victim": victim,
            "attackers": fired,
            "state": state,
            "rss_before_mb": rss_before / 2**20,
            "rss_after_mb": _group_rss(pgid) / 2**20,
            "db_growth_mb": (db_size(self.url) - db_before) / 2**20,
        }

    def settle(self) -> str:
        """ok, stalled (the queue was not emptied in time) or frozen (no answer)."""
        if not self.answers():
            return "frozen"
        deadline = time.monotonic() + DRAIN_SECONDS
        while self.progress.queued() > 0:
            if time.monotonic() > deadline:
                return "stalled" if self.answers() else "frozen"
            time.sleep(0.2)
        return "ok"

    def answers(self) -> bool:
        assert self.server is not None
        try:
            answer = httpx.get(
                f"{self.server.base}/v2/events/logs",
                headers={"Authorization": self.victim_auth},
                timeout=PROBE_SECONDS,
            )
        except httpx.HTTPError:
            return False
        return answer.status_code == 200


def _collect(process: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return {"kind": "?", "sent": 0, "statuses": {"killed": 1}, "cpu_s": 0.0}
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if process.returncode != 0 or not lines:
        raise RuntimeError(f"attacker failed: {err[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def bench_backend(kind: str, args: Any, results: dict[str, Any]) -> None:
    out: dict[str, Any] = {"baseline": [], "attacks": {s: [] for s in SCENARIOS}, "events": []}
    results[kind] = out
    with (
        tempfile.TemporaryDirectory(prefix="eventrail-attack-") as tmp,
        database(kind, Path(tmp)) as url,
    ):
        workdir = Path(tmp)
        subprocess.run([str(BIN / "eventrail"), "migrate"], env=env_for(url, workdir), check=True)
        victim = provision(url, workdir, "Victim", "v.till")
        attacker = provision(url, workdir, "Attacker", "x.till", rate_limit=None, admin=True)
        print(
            f"[{kind}] loading {args.scale:,} events and log entries for the victim...", flush=True
        )
        loader.load(url, victim.org_id, victim.till_id, args.scale)
        bench = Bench(kind, url, workdir, victim, attacker, args)
        try:
            bench.start()
            bench.target.update(arm(bench.target["base"], attacker))
            out["regex"] = bench.target["regex"]
            out["regex_tried"] = bench.target["regex_tried"]
            print(f"[{kind}] ReDoS patterns: {out['regex_tried']}", flush=True)
            bench.window(None)  # warm up
            for round_ in range(1, args.rounds + 1):
                for scenario in SCENARIOS:
                    windows = out["attacks"][scenario]
                    if any(w["state"] == "frozen" for w in windows):
                        continue  # frozen once: not again
                    print(f"[{kind}] round {round_}: baseline, then {scenario}", flush=True)
                    baseline = bench.window(None)["victim"]
                    out["baseline"].append(baseline)
                    window = bench.window(scenario)
                    window["baseline"] = baseline
                    windows.append(window)
                    if window["state"] != "ok":
                        deleted = bench.restart()
                        note = (
                            f"round {round_}, {scenario}: {window['state']}; killed, "
                            f"{deleted} queued requests of the attacker deleted, restarted"
                        )
                        out["events"].append(note)
                        print(f"[{kind}] {note}", flush=True)
        except Exception as exc:  # report what was measured, and why it stopped
            out["events"].append(f"aborted: {str(exc)[:300]}")
            print(f"[{kind}] aborted: {exc}", flush=True)
        finally:
            bench.stack.close()
            bench.progress.close()


# -- the report --------------------------------------------------------------------------
def _victim(figures: list[dict[str, Any]], timeout_ms: float) -> dict[str, Any]:
    """The victim's medians over windows, and what it never got an answer to."""
    probes = [f.get("probe", {"probes": 0, "failed": 0, "max_ms": 0.0}) for f in figures]
    return {
        "rps": statistics.median(f["ok_per_s"] for f in figures),
        "p50_ms": statistics.median(f["p50_ms"] for f in figures),
        "p99_ms": statistics.median(effective_p99(f, timeout_ms) for f in figures),
        "timeouts": sum(f.get("timeouts", 0) for f in figures),
        "probes": sum(p["probes"] for p in probes),
        "probes_failed": sum(p["failed"] for p in probes),
        "probe_max_ms": max(p["max_ms"] for p in probes),
    }


def summarize(out: dict[str, Any], timeout_ms: float = VICTIM_TIMEOUT * 1000) -> dict[str, Any]:
    """Per scenario: the victim's medians over its windows; the ratio, the median
    over the rounds of the window's p99 over the p99 of the baseline window just
    before it (the machine's load drifts from minute to minute: a window is
    compared with its neighbour); memory, disk, what the attackers got, and
    whether the target is met: the ratio at most TARGET, every request of the
    victim (wrk's and the probes') answered within the timeout, and the server not
    frozen."""
    base = _victim(out["baseline"], timeout_ms)
    summary: dict[str, Any] = {"baseline": base}
    for scenario, windows in out["attacks"].items():
        if not windows:
            continue
        victim = _victim([w["victim"] for w in windows], timeout_ms)
        states = [w["state"] for w in windows]
        frozen = "frozen" in states or any(w["victim"]["requests"] == 0 for w in windows)
        statuses: Counter[str] = Counter()
        for window in windows:
            for fired in window["attackers"]:
                statuses.update(fired["statuses"])
        ratio = statistics.median(
            effective_p99(w["victim"], timeout_ms)
            / max(effective_p99(w["baseline"], timeout_ms), 1e-3)
            for w in windows
        )
        unanswered = victim["timeouts"] + victim["probes_failed"]
        summary[scenario] = {
            **victim,
            "rounds": len(windows),
            "at_timeout": victim["p99_ms"] >= timeout_ms,
            "ratio": ratio,
            "state": "frozen" if frozen else next((s for s in states if s != "ok"), "ok"),
            "rss_before_mb": windows[0]["rss_before_mb"],
            "rss_after_mb": windows[-1]["rss_after_mb"],
            "rss_growth_mb": sum(w["rss_after_mb"] - w["rss_before_mb"] for w in windows),
            "db_growth_mb": sum(w["db_growth_mb"] for w in windows),
            "statuses": dict(statuses),
            "attacker_cpu_s": sum(f["cpu_s"] for w in windows for f in w["attackers"]),
            "met": ratio <= TARGET and not frozen and unanswered == 0,
        }
    return summary


def attack_rows(
    out: dict[str, Any], timeout_ms: float = VICTIM_TIMEOUT * 1000
) -> list[tuple[str, ...]]:
    """One line per scenario under HEADER, the baseline first."""
    summary = summarize(out, timeout_ms)

    def victim(s: dict[str, Any]) -> tuple[str, ...]:
        p99 = f">= {s['p99_ms']:.0f}" if s["p99_ms"] >= timeout_ms else f"{s['p99_ms']:.1f}"
        return (
            f"{s['rps']:,.0f}",
            f"{s['p50_ms']:.1f}",
            p99,
            f"{s['timeouts']} / {s['probes_failed']} of {s['probes']}",
            f"{s['probe_max_ms']:.0f}",
        )

    table: list[tuple[str, ...]] = [
        ("none (baseline)", *victim(summary["baseline"]), "1.00", "", "", "", "", "")
    ]
    for scenario in SCENARIOS:
        s = summary.get(scenario)
        if s is None:
            continue
        ratio = f">= {s['ratio']:.0f}" if s["at_timeout"] else f"{s['ratio']:.2f}"
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(s["statuses"].items()))
        table.append(
            (
                scenario,
                *victim(s),
                ratio,
                "met" if s["met"] else "NOT met",
                f"{s['rss_before_mb']:.0f} -> {s['rss_after_mb']:.0f} ({s['rss_growth_mb']:+.0f})",
                f"{s['db_growth_mb']:+.1f}",
                f"{s['state']} ({s['rounds']} rounds)",
                f"{answers} (cpu {s['attacker_cpu_s']:.1f} s)",
            )
        )
    return table


HEADER = (
    "attack",
    "req/s",
    "p50 ms",
    "p99 ms",
    "timeouts / probes failed",
    "probe max ms",
    "p99 / baseline's",
    "<= 2x",
    "RSS MB (growth in its windows)",
    "db MB",
    "server after",
    "attacker's answers",
)


def print_report(results: dict[str, Any]) -> None:
    for kind in ("postgresql", "sqlite"):
        out = results.get(kind)
        if not out or not out["baseline"]:
            continue
        print(f"\n[{kind}] the victim's GET /v2/events/logs @{results['connections']}, medians")
        tried = ", ".join(
            f"{t['pattern']} -> {t['status']} {t['code']}" for t in out.get("regex_tried", [])
        )
        print(f"ReDoS patterns tried: {tried}; used: {out.get('regex')}")
        _print_table(HEADER, attack_rows(out))
        for event in out["events"]:
            print(f"  {event}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--seconds", type=float, default=5.0, help="of each window")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16, help="wrk's, for the victim")
    parser.add_argument("--scale", type=int, default=20_000, help="the victim's events")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    parser.add_argument("--fire", choices=ATTACKS, help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.fire:  # one attacker, in its own process
        print(json.dumps(fire(args.fire, Path(args.target), args.seconds)), flush=True)
        return 0
    ensure_wrk()
    started = time.monotonic()
    results: dict[str, Any] = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": args.seconds,
        "rounds": args.rounds,
        "connections": args.connections,
        "scale": args.scale,
    }
    for kind in args.backends.split(","):
        bench_backend(kind.strip(), args, results)
    results["elapsed"] = time.monotonic() - started
    print_report(results)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-attack.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {path} in {results['elapsed']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
