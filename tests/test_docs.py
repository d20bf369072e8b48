"""The README and docs/events.md do what they say: their shell blocks run, in order,
against a real server, and answer with real data (a new user's first minute)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from unittest.mock import ANY

from tests.fixtures.docs import bash, json_stream, sh_blocks
from tests.fixtures.server import EVENTRAIL, cli_env, free_port, run_cli, running_server

ROOT = Path(__file__).resolve().parents[1]


def test_demo_and_the_readme_three_curls(env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    assert run_cli(["migrate"], env)[0] == 0
    code, loaded = run_cli(["demo", "--if-empty", "--base-url", base], env)
    assert code == 0
    assert loaded["demo"] is True
    assert len(loaded["curl"]) == 3
    # make run again: no second demo; how to sign in (the console's banner) is printed again
    assert run_cli(["demo", "--if-empty"], env) == (
        0,
        {"demo": False, "exists": True, "orgId": loaded["orgId"], "envFile": ANY},
    )
    # run again by hand: no second demo, the kept values (and their port) stay
    kept = (tmp_path / ".eventrail-demo.env").read_text()
    assert f"DEMO_API={base}\n" in kept
    assert run_cli(["demo"], env) == (
        0,
        {"demo": False, "exists": True, "orgId": loaded["orgId"], "envFile": ANY},
    )
    assert (tmp_path / ".eventrail-demo.env").read_text() == kept
    [block] = sh_blocks(ROOT / "README.md", "## First minute", "## Your own org")
    with running_server(env, port=port):
        out = bash(block, env, tmp_path)
        printed = json_stream(out)
        # the commands the demo printed answer too
        for command in loaded["curl"]:
            assert json.loads(bash(command, env, tmp_path))["data"]
    events, logs, audits = printed
    assert len(events["data"]) == 5
    assert {"additonalAttributes", "psiAttributes", "uniqueId"} <= set(events["data"][0])
    statuses = {entry.get("status") for entry in logs["data"]}
    assert logs["data"] and statuses
    assert audits["pagination"]["totalElements"] >= 6
    kinds = {e["eventType"] for entry in audits["data"] for e in entry["events"]}
    assert {"Identifiers", "Standard Fields", "Customer Status"} <= kinds
    assert any(entry["userContextDetails"] for entry in audits["data"])


def test_demo_covers_every_status_and_every_audit_type(env: dict[str, str]) -> None:
    assert run_cli(["migrate"], env)[0] == 0
    _, loaded = run_cli(["demo"], env)
    with running_server(env) as base:
        user = f"demo.till:{loaded['password']}"
        statuses = set()
        for status in (
            "EVENT_SUCCESS",
            "INVALID_EVENT_NAME",
            "EVENT_FIELD_VALIDATION_FAILED",
            "INVALID_GROUP_IDENTIFIER_PASSED",
            "EMF_PROCESSOR_FAILED",
            "NO_CUSTOMER_DETAILS_PASSED",
            "INVALID_META_TRANSFORMER_MAPPINGS",
            "INVALID_PAYLOAD",
            "UNAUTHORIZED",
        ):
            out = bash(
                f'curl -s -u {user} "{base}/v2/events/logs?limit=1&status={status}"', {}, ROOT
            )
            if json.loads(out)["data"]:
                statuses.add(status)
        assert len(statuses) == 9, statuses
        kinds: set[str] = set()
        customer = loaded["customerId"]
        for entity, ident in (("CUSTOMER", customer), ("CUSTOMER", customer + 1)):
            out = bash(
                f'curl -s -u {user} "{base}/api_gateway/v2/audits?entityType={entity}'
                f'&entityId={ident}&limit=100"',
                {},
                ROOT,
            )
            kinds |= {e["eventType"] for entry in json.loads(out)["data"] for e in entry["events"]}
        card = json.loads(bash(f'curl -s -u {user} "{base}/v2/card?number=GOLD00000001"', {}, ROOT))
        out = bash(
            f'curl -s -u {user} "{base}/api_gateway/v2/audits?entityType=CARD'
            f'&entityId={card["cardId"]}&limit=100"',
            {},
            ROOT,
        )
        kinds |= {e["eventType"] for entry in json.loads(out)["data"] for e in entry["events"]}
    assert len(kinds) == 11, kinds


def test_readme_walkthrough_and_docs_events(env: dict[str, str], tmp_path: Path) -> None:
    assert run_cli(["migrate"], env)[0] == 0
    port = free_port()
    readme = sh_blocks(ROOT / "README.md", "## Your own org", "## What is there")
    events = sh_blocks(ROOT / "docs" / "events.md", "# The life of an event")
    script = "\n".join(readme + events).replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    with running_server({**env, "EVENTRAIL_PROCESSOR_THREADS": "1"}, port=port):
        out = bash(script, env, ROOT)
    assert '"previousValue":"919988776655","currentValue":"919986000581"' in out
    assert '"previousValue":"V","currentValue":"Vatsal"' in out
    assert '"currentValue":"GOLD000001"' in out
    assert '"accessToken"' in out
    assert '"result":{"status":"EVENT_FIELD_VALIDATION_FAILED"' in out
    assert '"eventName":"StoreVisit"' in out
    assert out.count('"status":"EVENT_SUCCESS"') >= 2
    assert '"dryRun":true,"result":{"status":"EVENT_FIELD_VALIDATION_FAILED"' in out
    assert '"step":"field validation"' in out
    assert out.count('"outcome":"replayed"') == 2
    assert '"bucket":"day"' in out and '"bucket":"hour"' in out
    assert "would replay 1 of 1 failed entries of org" in out


def test_demo_again_says_how_to_log_in_and_new_loads_another(tmp_path: Path) -> None:
    # with the servers' shared metrics directory set, as an operator's environment has it
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    env = cli_env(f"sqlite:///{tmp_path}/again.db", tmp_path, EVENTRAIL_METRICS_DIR=str(metrics))
    assert run_cli(["migrate"], env)[0] == 0
    _, first = run_cli(["demo", "--base-url", "http://127.0.0.1:9123"], env)
    done = subprocess.run(
        [EVENTRAIL, "demo"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert f"loaded already (org {first['orgId']})" in done.stdout
    assert f"password {first['password']}" in done.stdout  # how to log in
    assert first["consoleUrl"] == "http://127.0.0.1:9123/console"
    assert "console: http://127.0.0.1:9123/console" in done.stdout
    assert "--new" in done.stdout
    assert "loading" not in done.stdout
    code, second = run_cli(["demo", "--new"], env)
    assert code == 0 and second["demo"] is True and second["orgId"] > first["orgId"]
    kept = (tmp_path / ".eventrail-demo.env").read_text()
    # the new demo's values, at the port the first one was given
    assert f"DEMO_ORG={second['orgId']}\n" in kept and "DEMO_API=http://127.0.0.1:9123\n" in kept
    assert all(command.startswith("curl") and "9123" in command for command in second["curl"])
    code, third = run_cli(["demo"], env)
    assert (code, third["orgId"]) == (0, second["orgId"])
    assert list(metrics.iterdir()) == []  # the demo's requests are not the service's
