"""The ``eventrail`` command: migrate, serve, and provisioning of orgs, tills and clients.

With ``--json`` every command prints exactly one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from eventrail.config import Settings, get_settings
from eventrail.db import Database, migrate, schema_is_current
from eventrail.errors import EventrailError


def _emit(args: argparse.Namespace, payload: dict[str, Any], human: str) -> None:
    if args.json:
        print(json.dumps(payload))
    else:
        print(human)


def _fail(args: argparse.Namespace, message: str) -> int:
    if getattr(args, "json", False):
        print(json.dumps({"error": message}))
    else:
        print(f"eventrail: {message}", file=sys.stderr)
    return 1


def _database(settings: Settings) -> Database:
    db = Database(settings)
    if not schema_is_current(db.engine, settings):
        db.dispose()
        raise EventrailError("the database schema is not up to date: run `eventrail migrate`")
    return db


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    migrate(settings)
    _emit(args, {"migrated": True}, "database schema is up to date")
    return 0


def cmd_org_create(args: argparse.Namespace, settings: Settings) -> int:
    from eventrail.orgs.service import create_org

    db = _database(settings)
    try:
        with db.transaction() as session:
            org = create_org(
                session,
                name=args.name,
                org_id=args.id,
                parent_org_id=args.parent,
                timezone=args.timezone,
            )
            org_id = org.id
    finally:
        db.dispose()
    _emit(args, {"orgId": org_id}, f"created org {org_id}")
    return 0


def cmd_till_create(args: argparse.Namespace, settings: Settings) -> int:
    from eventrail.auth.service import create_till
    from eventrail.orgs.service import get_org

    db = _database(settings)
    try:
        with db.transaction() as session:
            get_org(session, args.org)
            till = create_till(
                session,
                org_id=args.org,
                code=args.code,
                password=args.password,
                name=args.name,
                store_code=args.store_code,
                store_name=args.store_name,
            )
            till_id, code = till.id, till.code
    finally:
        db.dispose()
    _emit(args, {"tillId": till_id, "code": code}, f"created till {code} (id {till_id})")
    return 0


def cmd_client_create(args: argparse.Namespace, settings: Settings) -> int:
    from eventrail.auth.service import create_client
    from eventrail.orgs.service import get_org

    db = _database(settings)
    try:
        with db.transaction() as session:
            get_org(session, args.org)
            client, secret = create_client(
                session,
                org_id=args.org,
                till_code=args.till,
                ttl_seconds=args.ttl or settings.default_token_ttl_seconds,
                psi_view=args.psi_view,
            )
            key = client.key
    finally:
        db.dispose()
    _emit(
        args,
        {"key": key, "secret": secret},
        f"created OAuth client\n  key:    {key}\n  secret: {secret}\n"
        "(the secret is shown only now)",
    )
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from eventrail import demo

    db = _database(settings)
    try:
        if args.if_empty and demo.has_data(db):
            _emit(args, {"demo": False}, "the database has data already: no demo added")
            return 0
    finally:
        db.dispose()
    if not args.json:
        print("loading the demo (orgs, customers, events, audit history)...", flush=True)
    base_url = args.base_url.rstrip("/")
    result = demo.run(settings, base_url)
    commands = demo.curl_commands(result, base_url)
    payload = {
        "demo": True,
        "orgId": result.org_id,
        "childOrgId": result.child_org_id,
        "till": result.till,
        "password": result.password,
        "clientKey": result.client_key,
        "clientSecret": result.client_secret,
        "customerId": result.busy_customer,
        "curl": commands,
    }
    human = "\n".join(
        [
            f"demo org {result.org_id} (child org {result.child_org_id}): "
            f"{demo.CUSTOMERS} customers, {result.events} events posted",
            f"  Basic auth:   till {result.till}, password {result.password}",
            f"  OAuth client: key {result.client_key}, secret {result.client_secret}",
            f"  (also in {settings.data_dir / demo.DEMO_ENV_FILE})",
            "try, once the server is up:",
            *(f"  {command}" for command in commands),
        ]
    )
    _emit(args, payload, human)
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    # uvicorn stops gracefully on SIGTERM/SIGINT, then raises the signal again to
    # end the process by it: exit 0 instead (also if it comes before uvicorn runs).
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _exit_quietly)
    import uvicorn

    _database(settings).dispose()
    if args.no_processors:
        # Read by create_app in this process and in every worker it spawns.
        os.environ["EVENTRAIL_PROCESSOR_THREADS"] = "0"
        get_settings.cache_clear()
    # Create the key file once, before the workers start. Without
    # EVENTRAIL_PUBLIC_URL, webhook URIs use the scheme, host and port each
    # request was addressed to.
    settings.signing_key()
    uvicorn.run(
        "eventrail.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        log_level=settings.log_level,
        access_log=False,
        timeout_graceful_shutdown=10,
    )
    return 0


def _exit_quietly(_sig: int, _frame: Any) -> None:
    raise SystemExit(0)


def cmd_process(args: argparse.Namespace, settings: Settings) -> int:
    import logging
    import threading

    from eventrail.kit.signals import on_stop_signal

    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stop = threading.Event()
    # From the start: a SIGTERM while the stack loads stops the command cleanly too.
    with on_stop_signal(stop.set, chain=False):
        from eventrail.processing.runner import run_processors

        db = _database(settings)
        try:
            threads = args.threads or settings.processor_threads or 1
            finished = run_processors(db, settings, threads=threads, stop=stop)
        finally:
            db.dispose()
    if args.json:
        print(json.dumps({"stopped": True, "batchesFinished": finished}))
    return 0


def _threads(value: str) -> int:
    try:
        threads = int(value)
    except ValueError:
        threads = 0
    if not 1 <= threads <= 16:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 16, not {value!r}")
    return threads


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eventrail", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def add(
        subparsers: Any, name: str, handler: Callable[..., int], help_: str
    ) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = subparsers.add_parser(name, help=help_)
        p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
        p.set_defaults(handler=handler)
        return p

    add(sub, "migrate", cmd_migrate, "bring the database schema to the latest migration")

    serve = add(sub, "serve", cmd_serve, "run the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--no-processors",
        dest="no_processors",
        action="store_true",
        help="only HTTP: events are processed by `eventrail process` (as "
        "EVENTRAIL_PROCESSOR_THREADS=0)",
    )

    process = add(sub, "process", cmd_process, "run only the event processors (no HTTP)")
    process.add_argument(
        "--threads",
        type=_threads,
        help="processor threads, 1 to 16 (default: EVENTRAIL_PROCESSOR_THREADS, at least 1)",
    )

    org = sub.add_parser("org", help="orgs").add_subparsers(dest="action", required=True)
    org_create = add(org, "create", cmd_org_create, "create an org")
    org_create.add_argument("--name", required=True)
    org_create.add_argument("--id", type=int)
    org_create.add_argument("--parent", type=int, help="parent org id (connected orgs)")
    org_create.add_argument("--timezone", default="UTC", help="IANA timezone")

    till = sub.add_parser("till", help="tills").add_subparsers(dest="action", required=True)
    till_create = add(till, "create", cmd_till_create, "create a till (Basic auth principal)")
    till_create.add_argument("--org", type=int, required=True)
    till_create.add_argument("--code", required=True)
    till_create.add_argument("--password", required=True)
    till_create.add_argument("--name")
    till_create.add_argument("--store-code", dest="store_code")
    till_create.add_argument("--store-name", dest="store_name")

    demo = add(sub, "demo", cmd_demo, "create a demo org with data behind every API")
    demo.add_argument(
        "--if-empty", dest="if_empty", action="store_true", help="only on a database with no org"
    )
    demo.add_argument(
        "--base-url", dest="base_url", default="http://127.0.0.1:8000", help="for the printed curls"
    )

    client = sub.add_parser("client", help="OAuth clients").add_subparsers(
        dest="action", required=True
    )
    client_create = add(client, "create", cmd_client_create, "create an OAuth client")
    client_create.add_argument("--org", type=int, required=True)
    client_create.add_argument("--till", required=True, help="code of the client's default till")
    client_create.add_argument("--ttl", type=int, help="token lifetime in seconds")
    client_create.add_argument("--psi-view", dest="psi_view", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
    except ValueError as exc:
        return _fail(args, f"invalid settings: {exc}")
    try:
        handler: Callable[[argparse.Namespace, Settings], int] = args.handler
        return handler(args, settings)
    except EventrailError as exc:
        return _fail(args, exc.message)


if __name__ == "__main__":
    raise SystemExit(main())
