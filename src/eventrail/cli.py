"""The ``eventrail`` command: migrate, serve, and provisioning of orgs, tills and clients.

With ``--json`` every command prints exactly one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shutil
import signal
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from eventrail import __version__
from eventrail.errors import EventrailError
from eventrail.processing.statuses import REPLAYABLE as _REPLAYABLE

# Each command imports what it needs when it runs: `eventrail --help` and
# `--version` load neither SQLAlchemy nor FastAPI (tests/test_cli.py checks).
T = TypeVar("T")

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from eventrail.config import Settings
    from eventrail.db import Database
    from eventrail.kit.plainsql import Statements


def _emit(args: argparse.Namespace, payload: dict[str, Any], human: str) -> None:
    if args.json:
        print(json.dumps(payload))
    else:
        print(human)


def _fail(args: argparse.Namespace, message: str) -> int:
    if getattr(args, "json", False):
        print(json.dumps({"error": message}))
    elif getattr(args, "log_json", False):
        # serve and process with EVENTRAIL_LOG_FORMAT=json: a line like their log's
        import logging

        from eventrail.kit.logsafe import JsonFormatter

        record = logging.makeLogRecord(
            {"name": "eventrail", "levelno": logging.ERROR, "levelname": "ERROR", "msg": message}
        )
        print(JsonFormatter().format(record), file=sys.stderr)
    else:
        print(f"eventrail: {message}", file=sys.stderr)
    return 1


class CommandError(Exception):
    """A failure the command reports in one line (and exit code 1)."""


def _database(settings: Settings) -> Database:
    """The database, once it answers and its schema is at the newest migration."""
    import sqlalchemy as sa

    from eventrail.db import Database, schema_state

    path = sa.make_url(settings.sqlalchemy_url).database if settings.is_sqlite else None
    if path and path != ":memory:" and not path.startswith("file:"):
        from pathlib import Path

        if not Path(path).exists():
            raise CommandError(f"there is no database at {path}: run `eventrail migrate`")
    db = Database(settings)
    try:
        with db.engine.connect() as conn:
            state = schema_state(conn)
    except BaseException:
        db.dispose()
        raise
    if state == "behind":
        db.dispose()
        raise CommandError("the database schema is not up to date: run `eventrail migrate`")
    if state == "ahead":
        db.dispose()
        raise CommandError(
            "the database schema is newer than this eventrail: install the newer version"
        )
    return db


def _in_org(settings: Settings, org_id: int, work: Callable[[Session], T]) -> T:
    """``work(session)`` in one transaction, once the org is known to exist."""
    from eventrail.orgs.exceptions import OrgNotFound
    from eventrail.orgs.service import get_org

    db = _database(settings)
    try:
        with db.transaction() as session:
            try:
                get_org(session, org_id)
            except OrgNotFound as exc:
                raise EventrailError(f"no org {org_id}") from exc
            return work(session)
    finally:
        db.dispose()


def _without_line_end(text: str) -> str:
    return text.removesuffix("\n").removesuffix("\r")


def _password(args: argparse.Namespace) -> str:
    """The password from --password, --password-stdin, --password-file or, when
    the terminal is interactive, a prompt (so that it need not be on the command
    line, where other users and the shell history can see it)."""
    if args.password is not None:
        return str(args.password)
    if args.password_stdin:
        return _without_line_end(sys.stdin.readline())
    if args.password_file is not None:
        try:
            lines = Path(args.password_file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise EventrailError(f"cannot read the password file: {exc}") from exc
        return lines[0] if lines else ""
    if not sys.stdin.isatty():
        raise EventrailError(
            "no password given: use --password-stdin, --password-file or an interactive terminal"
        )
    try:
        first = getpass.getpass("password: ")
        again = getpass.getpass("password again: ")
    except (EOFError, KeyboardInterrupt) as exc:
        raise EventrailError("no password given") from exc
    if first != again:
        raise EventrailError("the two passwords differ")
    return first


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from eventrail.db import migrate

    applied = migrate(settings)
    human = (
        f"applied {len(applied)} migration(s): {', '.join(applied)}; the schema is up to date"
        if applied
        else "the database schema was up to date: nothing to apply"
    )
    _emit(args, {"migrated": True, "applied": applied}, human)
    return 0


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    import sqlite3

    from eventrail.db import backup_sqlite

    if not settings.is_sqlite:
        raise CommandError(
            "eventrail backup copies SQLite databases; for PostgreSQL use pg_dump "
            '(docs/deploy.md, "Backups")'
        )
    source = settings.sqlite_path
    if source is None or not Path(source).is_file():
        raise CommandError(f"there is no SQLite database file at {source or ':memory:'}")
    target = Path(args.path)
    if target.is_dir():
        raise CommandError(f"{target} is a directory: give the path of the copy")
    if not target.parent.is_dir():
        raise CommandError(f"there is no directory {target.parent}")
    if target.exists() and not args.force:
        raise CommandError(f"{target} exists: use --force to overwrite it")
    if target.exists() and target.resolve() == Path(source).resolve():
        raise CommandError(f"{target} is the database itself")
    try:
        size = backup_sqlite(source, target, overwrite=args.force)
    except FileExistsError:
        raise CommandError(f"{target} exists: use --force to overwrite it") from None
    except sqlite3.Error as exc:
        raise CommandError(f"cannot back up {source}: {exc}") from None
    _emit(
        args,
        {"backup": str(target), "bytes": size},
        f"backed up {source} to {target} ({size} bytes)",
    )
    return 0


@contextmanager
def _lean(settings: Settings, org_id: int | None = None) -> Iterator[Statements]:
    """One transaction on a plain driver connection, without SQLAlchemy's ORM and the
    models (kit/plainsql.py): `org create`, `till create` and `client create` start in
    a fraction of the time (docs/decisions.md). With ``org_id``, the org must exist."""
    from eventrail.kit.plainsql import NoDatabase, safe_url, transaction
    from eventrail.orgs.provision import org_parent

    drivers: tuple[type[Exception], ...] = (sqlite3.Error,)
    if not settings.is_sqlite:
        import psycopg

        drivers = (sqlite3.Error, psycopg.Error)
    try:
        with transaction(settings) as statements:
            if org_id is not None and not org_parent(statements, org_id)[0]:
                raise EventrailError(f"no org {org_id}")
            yield statements
    except NoDatabase as exc:
        raise CommandError(str(exc)) from None
    except drivers as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CommandError(
            f"cannot use the database {safe_url(settings.database_url)}: {reason}"
        ) from None


def cmd_org_create(args: argparse.Namespace, settings: Settings) -> int:
    from eventrail.orgs.provision import create_org

    with _lean(settings) as statements:
        org_id = create_org(
            statements,
            name=args.name,
            org_id=args.id,
            parent_org_id=args.parent,
            timezone=args.timezone,
        )
    _emit(args, {"orgId": org_id}, f"created org {org_id}")
    return 0


def cmd_till_create(args: argparse.Namespace, settings: Settings) -> int:
    from eventrail.auth.provision import create_till

    password = _password(args)
    with _lean(settings, args.org) as statements:
        till_id = create_till(
            statements,
            org_id=args.org,
            code=args.code,
            password=password,
            name=args.name,
            store_code=args.store_code,
            store_name=args.store_name,
            admin=args.admin,
        )
    role = " (admin)" if args.admin else ""
    _emit(
        args,
        {"tillId": till_id, "code": args.code},
        f"created till {args.code}{role} (id {till_id})",
    )
    return 0


def _change_till(args: argparse.Namespace, settings: Settings, change: Callable[..., Any]) -> int:
    """Apply ``change(session, org_id=, code=)`` to a till; print what it became."""
    till = _in_org(
        settings, args.org, lambda session: change(session, org_id=args.org, code=args.code)
    )
    payload = {
        "tillId": till.id,
        "code": till.code,
        "enabled": till.disabled_at is None,
        "admin": till.admin,
    }
    state = "enabled" if payload["enabled"] else "disabled"
    role = ", admin" if payload["admin"] else ""
    _emit(args, payload, f"till {payload['code']} (id {payload['tillId']}): {state}{role}")
    return 0


def cmd_till_password(args: argparse.Namespace, settings: Settings) -> int:
    from eventrail.auth.service import set_till_password

    password = _password(args)
    return _change_till(
        args,
        settings,
        lambda session, **till: set_till_password(session, password=password, **till),
    )


def cmd_till_disable(args: argparse.Namespace, settings: Settings) -> int:
    from eventrail.auth.service import set_till_enabled

    return _change_till(
        args, settings, lambda session, **till: set_till_enabled(session, enabled=False, **till)
    )


def cmd_till_enable(args: argparse.Namespace, settings: Settings) -> int:
    from eventrail.auth.service import set_till_enabled

    return _change_till(
        args, settings, lambda session, **till: set_till_enabled(session, enabled=True, **till)
    )


def cmd_till_admin(args: argparse.Namespace, settings: Settings) -> int:
    from eventrail.auth.service import set_till_admin

    admin = not args.off
    return _change_till(
        args, settings, lambda session, **till: set_till_admin(session, admin=admin, **till)
    )


def cmd_client_create(args: argparse.Namespace, settings: Settings) -> int:
    from eventrail.auth.provision import create_client

    with _lean(settings, args.org) as statements:
        _, key, secret = create_client(
            statements,
            org_id=args.org,
            till_code=args.till,
            ttl_seconds=args.ttl or settings.default_token_ttl_seconds,
            psi_view=args.psi_view,
            admin=args.admin,
        )
    _emit(
        args,
        {"key": key, "secret": secret},
        f"created OAuth client\n  key:    {key}\n  secret: {secret}\n"
        "(the secret is shown only now)",
    )
    return 0


def cmd_client_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from eventrail.auth.service import revoke_client

    key = _in_org(
        settings, args.org, lambda session: revoke_client(session, org_id=args.org, key=args.key)
    ).key
    _emit(args, {"key": key, "revoked": True}, f"revoked OAuth client {key}")
    return 0


def cmd_client_rotate(args: argparse.Namespace, settings: Settings) -> int:
    from eventrail.auth.service import rotate_client

    client, secret = _in_org(
        settings, args.org, lambda session: rotate_client(session, org_id=args.org, key=args.key)
    )
    key = client.key
    _emit(
        args,
        {"key": key, "secret": secret},
        f"new secret for OAuth client {key}\n  secret: {secret}\n"
        "(shown only now; the old secret and its tokens no longer work)",
    )
    return 0


def _progress(done: int, total: int, out: Any) -> None:
    """A progress bar on stderr: redrawn in place on a terminal, a line per step elsewhere."""
    width = 30
    filled = width * done // total if total else width
    bar = f"replaying [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
    if out.isatty():
        out.write("\r" + bar + ("\n" if done >= total else ""))
    else:
        out.write(bar + "\n")
    out.flush()


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    """Replay the org's failed log entries (as POST /v2/events/logs/replay does), in
    chunks of 1000 ids, each in its own transaction; --dry-run rolls every chunk back."""
    import uuid

    from eventrail.kit.dates import parse_date_param, zone
    from eventrail.orgs.exceptions import OrgNotFound
    from eventrail.orgs.service import get_org
    from eventrail.processing import service
    from eventrail.processing import statuses as st
    from eventrail.processing.repository import ProcessingRepository
    from eventrail.processing.schemas import MAX_REPLAY_IDS

    db = _database(settings)
    try:
        with db.transaction(write=False) as session:
            try:
                org = get_org(session, args.org)
            except OrgNotFound as exc:
                raise EventrailError(f"no org {args.org}") from exc
            timezone = org.timezone
            start_ms = None
            if args.since is not None:
                start_ms = parse_date_param(args.since, name="--since", tz=zone(timezone))
            statuses = (args.status,) if args.status else st.REPLAYABLE
            ids = ProcessingRepository(session).replay_matching_ids(
                args.org, statuses=statuses, start_ms=start_ms
            )
        ticket = service.ReplayTicket(args.org, timezone, "cli", str(uuid.uuid4()))
        reasons: dict[str, int] = {}
        replayed = 0
        if not args.json:
            _progress(0, len(ids), sys.stderr)
        for start in range(0, len(ids), MAX_REPLAY_IDS):
            chunk = ids[start : start + MAX_REPLAY_IDS]
            with db.transaction(write=True) as session:
                results = service.replay(session, ticket, ids=chunk)
                if args.dry_run:
                    session.rollback()
            for result in results:
                if result["outcome"] == "replayed":
                    replayed += 1
                else:
                    reasons[result["reason"]] = reasons.get(result["reason"], 0) + 1
            if not args.json:
                _progress(start + len(chunk), len(ids), sys.stderr)
    finally:
        db.dispose()
    verb = "would replay" if args.dry_run else "replayed"
    _emit(
        args,
        {
            "orgId": args.org,
            "dryRun": args.dry_run,
            "matched": len(ids),
            "replayed": replayed,
            "skipped": sum(reasons.values()),
            "reasons": reasons,
        },
        f"{verb} {replayed} of {len(ids)} failed entries of org {args.org}"
        + (
            f" (skipped: {', '.join(f'{k} {v}' for k, v in sorted(reasons.items()))})"
            if reasons
            else ""
        ),
    )
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from eventrail import demo

    db = _database(settings)
    try:
        earlier = [] if args.new else demo.existing_orgs(db)
        if args.if_empty and demo.has_data(db):
            if earlier:  # make run again: say how to sign in to the console
                return _demo_exists(args, settings, earlier, demo.saved(settings))
            _emit(args, {"demo": False}, "the database has data already: no demo added")
            return 0
    finally:
        db.dispose()
    saved = demo.saved(settings)
    if earlier:
        return _demo_exists(args, settings, earlier, saved)
    if not args.json:
        print("loading the demo (orgs, customers, events, audit history)...", flush=True)
    base_url = (args.base_url or saved.get("DEMO_API") or "http://127.0.0.1:8000").rstrip("/")
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
        "consoleUrl": f"{base_url}/console",
        "curl": commands,
    }
    human = "\n".join(
        [
            f"demo org {result.org_id} (child org {result.child_org_id}): "
            f"{demo.CUSTOMERS} customers, {result.events} events posted",
            f"  Basic auth:   till {result.till}, password {result.password}",
            f"  OAuth client: key {result.client_key}, secret {result.client_secret}",
            f"  (also in {settings.data_dir / demo.DEMO_ENV_FILE})",
            f"console: {base_url}/console (sign in with the till or the client above)",
            "try, once the server is up:",
            *(f"  {command}" for command in commands),
        ]
    )
    _emit(args, payload, human)
    return 0


_SERVE_OPTIONS = (
    ("header_timeout", "EVENTRAIL_HEADER_TIMEOUT_SECONDS"),
    ("body_timeout", "EVENTRAIL_BODY_TIMEOUT_SECONDS"),
    ("max_connections", "EVENTRAIL_MAX_CONNECTIONS"),
)


def _demo_exists(
    args: argparse.Namespace, settings: Settings, orgs: list[int], saved: dict[str, str]
) -> int:
    """Say how to log in to the demo loaded earlier, rather than load a second one."""
    from eventrail import demo

    env_file = settings.data_dir / demo.DEMO_ENV_FILE
    known = saved.get("DEMO_ORG") == str(orgs[-1]) and "DEMO_TILL" in saved
    base_url = (args.base_url or saved.get("DEMO_API") or "http://127.0.0.1:8000").rstrip("/")
    lines = [f"the demo is loaded already (org {orgs[-1]}); `eventrail demo --new` loads another"]
    if known:
        lines += [
            f"  Basic auth:   till {saved['DEMO_TILL'].replace(':', ', password ', 1)}",
            f"  OAuth client: key {saved.get('DEMO_CLIENT_KEY')}, "
            f"secret {saved.get('DEMO_CLIENT_SECRET')}",
            f"  (kept in {env_file})",
            f"console: {base_url}/console (sign in with the till or the client above)",
            "try, once the server is up:",
            f"  . {env_file.resolve()}",
            '  curl -s -u "$DEMO_TILL" "$DEMO_API/v2/events/logs?limit=10"',
        ]
    else:
        lines.append(
            f"  its till password was printed when it was loaded and kept in {demo.DEMO_ENV_FILE}"
            " of the data directory it was loaded from (EVENTRAIL_DATA_DIR)"
        )
    payload: dict[str, Any] = {"demo": False, "exists": True, "orgId": orgs[-1]}
    if known:
        payload["envFile"] = str(env_file)
    _emit(args, payload, "\n".join(lines))
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    # uvicorn stops gracefully on SIGTERM/SIGINT, then raises the signal again to
    # end the process by it: exit 0 instead (also if it comes before uvicorn runs).
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _exit_quietly)
    from eventrail.config import get_settings

    # The options override the settings; the server's protocol (kit/server.py) and
    # every worker process read them from the environment, like the others.
    given = {
        env: str(value)
        for name, env in _SERVE_OPTIONS
        if (value := getattr(args, name)) is not None
    }
    if given:
        os.environ.update(given)
        get_settings.cache_clear()
        try:
            settings = get_settings()
        except ValueError as exc:
            return _fail(args, f"invalid settings: {exc}")
    metrics_dir = _metrics_directory(settings, private=args.workers > 1)
    try:
        return _serve(args, settings)
    finally:
        if metrics_dir is not None and settings.metrics_dir is None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _metrics_directory(settings: Settings, *, private: bool) -> Path | None:
    """Where this command's processes write their metrics (kit/metrics.py), chosen
    before anything loads them: EVENTRAIL_METRICS_DIR, shared with the other processes
    given it; else, for several server workers, a private temporary directory (removed
    at exit); else none (this process's memory)."""
    from eventrail.kit.metrics_dir import use_directory

    path = settings.metrics_dir
    if path is None and private:
        path = Path(tempfile.mkdtemp(prefix="eventrail-metrics-"))
    if path is not None:
        use_directory(path)
    return path


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from eventrail.config import get_settings
    from eventrail.kit.logsafe import log_config

    _database(settings).dispose()
    if args.no_processors:
        # Read by create_app in this process and in every worker it spawns.
        os.environ["EVENTRAIL_PROCESSOR_THREADS"] = "0"
        get_settings.cache_clear()
    # Create the key file once, before the workers start. Without
    # EVENTRAIL_PUBLIC_URL, webhook URIs use the scheme, host and port each
    # request was addressed to.
    try:
        settings.signing_key()
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    uvicorn.run(
        "eventrail.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http="eventrail.kit.server:GuardedHttpToolsProtocol",
        log_config=log_config(settings.log_level, settings.log_format),
        log_level=settings.log_level,
        # eventrail's own access line (kit/accesslog.py) replaces uvicorn's, which
        # would log the raw path and query string, a second time per request.
        access_log=False,
        timeout_graceful_shutdown=10,
    )
    return 0


def _exit_quietly(_sig: int, _frame: Any) -> None:
    raise SystemExit(0)


def cmd_process(args: argparse.Namespace, settings: Settings) -> int:
    import logging.config
    import threading

    from eventrail.kit.logsafe import log_config
    from eventrail.kit.signals import on_stop_signal

    # The same handlers, filter and format as `serve`'s.
    logging.config.dictConfig(log_config(settings.log_level, settings.log_format))
    stop = threading.Event()
    # From the start: a SIGTERM while the stack loads stops the command cleanly too.
    with on_stop_signal(stop.set, chain=False):
        # Without EVENTRAIL_METRICS_DIR this process's metrics are not scraped:
        # it has no HTTP of its own.
        _metrics_directory(settings, private=False)
        from eventrail.kit import metrics
        from eventrail.processing.runner import run_processors

        db = _database(settings)
        try:
            threads = args.threads or settings.processor_threads or 1
            finished = run_processors(db, settings, threads=threads, stop=stop)
        finally:
            db.dispose()
            metrics.process_ended()
    if args.json:
        print(json.dumps({"stopped": True, "batchesFinished": finished}))
    return 0


_KIND_NAMES = {
    "eventLogs": "log entries",
    "eventData": "events",
    "audit": "audit entries",
    "notifications": "notification deliveries",
}


class _ProgressBar:
    """``[#####.....]  52%  5200/10000 rows`` on standard error, redrawn in place on a
    terminal, else a line at every tenth."""

    WIDTH = 30

    def __init__(self, total: int) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.tty = sys.stderr.isatty()
        self._shown = -1

    def advance(self, rows: int) -> None:
        self.done = min(self.done + rows, self.total)
        percent = self.done * 100 // self.total
        if not self.tty and percent // 10 == self._shown // 10 and self.done < self.total:
            return
        self._shown = percent
        filled = self.WIDTH * self.done // self.total
        bar = "#" * filled + "." * (self.WIDTH - filled)
        line = f"[{bar}] {percent:3d}%  {self.done}/{self.total} rows"
        print(("\r" + line) if self.tty else line, end="" if self.tty else "\n", file=sys.stderr)
        sys.stderr.flush()

    def close(self) -> None:
        if self.tty and self._shown >= 0:
            print(file=sys.stderr)


def cmd_prune(args: argparse.Namespace, settings: Settings) -> int:
    from eventrail.retention.service import pruner_lock

    db = _database(settings)
    try:
        with pruner_lock(db, wait=False) as held:
            if not held:
                if not args.json:
                    print("waiting for the pruner of another process to finish...", file=sys.stderr)
                with pruner_lock(db, wait=True):
                    return _prune_all(args, settings, db)
            return _prune_all(args, settings, db)
    finally:
        db.dispose()


def _prune_all(args: argparse.Namespace, settings: Settings, db: Database) -> int:
    """Count what is expired, then (without --dry-run) delete it with a progress bar."""
    from eventrail.retention.service import count_expired, prune, targets

    with db.transaction(write=False) as session:
        found = targets(session, settings)
    counts = count_expired(db, found)
    per_org: dict[int, dict[str, int]] = {}
    for target, n in counts.items():
        per_org.setdefault(target.org_id, dict.fromkeys(_KIND_NAMES, 0))[target.kind] = n
    total = sum(counts.values())
    if not args.dry_run and total:
        bar = None if args.json else _ProgressBar(total)
        try:
            for target, n in counts.items():
                if n:
                    deleted = prune(
                        db,
                        target,
                        settings.retention_batch_rows,
                        progress=bar.advance if bar is not None else None,
                    )
                    per_org[target.org_id][target.kind] = deleted
        finally:
            if bar is not None:
                bar.close()
        total = sum(sum(kinds.values()) for kinds in per_org.values())
    verb = "would delete" if args.dry_run else "deleted"
    lines = [
        f"org {org_id}: {verb} "
        + ", ".join(f"{kinds[kind]} {name}" for kind, name in _KIND_NAMES.items())
        for org_id, kinds in sorted(per_org.items())
        if any(kinds.values())
    ]
    lines.append(
        f"{verb} {total} expired row(s)" + (" (dry run: nothing deleted)" if args.dry_run else "")
    )
    payload = {
        "dryRun": args.dry_run,
        "total": total,
        "orgs": [{"orgId": org_id, **kinds} for org_id, kinds in sorted(per_org.items())],
    }
    _emit(args, payload, "\n".join(lines))
    return 0


def _org_timezone(db: Database, org_id: int) -> tuple[str, bool]:
    """(timezone, masks PSI) of an org; an error naming it when there is none."""
    from eventrail.orgs.exceptions import OrgNotFound
    from eventrail.orgs.service import get_org

    with db.transaction(write=False) as session:
        try:
            org = get_org(session, org_id)
        except OrgNotFound as exc:
            raise EventrailError(f"no org {org_id}") from exc
        return org.timezone, bool(org.psi_masking_enabled)


def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    """Walk each org's audit hash chain; exit 1 when an entry was edited, deleted or
    inserted outside eventrail."""
    from eventrail.audit import chain
    from eventrail.audit.repository import AuditReads
    from eventrail.kit.dates import parse_date_param, zone
    from eventrail.kit.fastdb import ReadPool

    db = _database(settings)
    pool = ReadPool(settings, threads=1)  # the primary: what the chain is verified on
    reads = AuditReads(pool)
    try:
        if args.org is not None:
            timezone, _ = _org_timezone(db, args.org)
            org_ids = [args.org]
        else:
            timezone = "UTC"
            org_ids = reads.chained_orgs()
        from_ms = None
        if args.from_date is not None:
            from_ms = parse_date_param(args.from_date, name="--from", tz=zone(timezone))
        total = sum(reads.count_links(org_id, from_ms) for org_id in org_ids)
        bar = None if args.json else _ProgressBar(total)
        try:
            reports = chain.verify(
                reads, org_ids, from_ms=from_ms, progress=bar.advance if bar else None
            )
        finally:
            if bar is not None:
                bar.close()
    finally:
        pool.close()
        db.dispose()
    checked = sum(r.checked for r in reports)
    valid = sum(r.valid for r in reports)
    bad = [r for r in reports if not r.ok]
    lines = [problem.line(r.org_id) for r in bad for problem in r.problems]
    first = next(((r, r.problems[0]) for r in bad), None)
    if first is not None:
        report, problem = first
        lines.append(
            f"FIRST BAD: org {report.org_id}, "
            + (f"entry {problem.entry_id}" if problem.entry_id is not None else "chain head")
            + (f" (seq {problem.seq})" if problem.seq is not None else "")
            + f": {problem.kind}"
        )
    unchained = sum(r.unchained for r in reports)
    lines.append(
        f"{valid}/{checked} chained entries valid in {len(reports)} org(s)"
        + (f"; {unchained} entries written before the chain (not verifiable)" if unchained else "")
        + ("; INVALID" if bad else "; chain intact")
    )
    _emit(
        args,
        {"ok": not bad, "checked": checked, "valid": valid, "orgs": [r.as_dict() for r in reports]},
        "\n".join(lines),
    )
    return 1 if bad else 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write an org's log entries, audit entries or events to a file (NDJSON or CSV),
    masked as the API masks them for a caller without PSI_VIEW unless --unmasked;
    --resume continues after the last whole row of the file."""
    from eventrail.audit import service as audit_service
    from eventrail.audit.repository import AuditExport, AuditReads
    from eventrail.kit import exports
    from eventrail.kit.dates import parse_date_range, zone
    from eventrail.kit.fastdb import ReadPool
    from eventrail.processing import service as processing_service
    from eventrail.processing.repository import EventReads

    out = Path(args.out)
    fmt = args.format or ("csv" if out.suffix.lower() == ".csv" else "ndjson")
    db = _database(settings)
    # The replica when there is one (EVENTRAIL_READ_DATABASE_URL), as the API's exports.
    reader = ReadPool(
        settings,
        url=settings.read_database_url,
        threads=1,
        sqlite_cache_kib=exports.EXPORT_CACHE_KIB,
    )
    try:
        timezone, masks = _org_timezone(db, args.org)
        mask = masks and not args.unmasked
        start_ms, end_ms = parse_date_range(
            args.from_date, args.to_date, start_name="--from", end_name="--to", tz=zone(timezone)
        )
        after: tuple[int, int] | None = None
        size = 0
        if args.resume and out.exists():
            found = exports.resume_point(out, fmt)
            if found.complete:
                _emit(args, {"rows": 0, "complete": True, "out": str(out)}, f"{out} is complete")
                return 0
            after, size = found.after, found.size
        batch = exports.BATCH_ROWS
        if args.kind == "logs":
            f = processing_service.log_filters(
                timezone,
                event_name=args.event_name,
                from_date=args.from_date,
                to_date=args.to_date,
                status=args.status,
            )
            batches = processing_service.export_logs(
                EventReads(reader), args.org, f, mask=mask, after=after, batch=batch
            )
            columns = processing_service.LOG_EXPORT_COLUMNS
        elif args.kind == "events":
            batches = processing_service.export_events(
                EventReads(reader),
                args.org,
                timezone,
                event_name=args.event_name,
                start_ms=start_ms,
                end_ms=end_ms,
                mask=mask,
                after=after,
                batch=batch,
            )
            columns = processing_service.EVENT_EXPORT_COLUMNS
        else:
            entity = None
            if args.entity_type is not None or args.entity_id is not None:
                if args.entity_type is None or args.entity_id is None:
                    raise CommandError("give --entity-type and --entity-id, or neither")
                entity = (args.entity_type, args.entity_id)
            x = AuditExport(
                args.org,
                entity,
                start_ms=start_ms,
                end_ms=end_ms,
                reference_type=args.reference_type,
            )
            batches = audit_service.export_audits(
                AuditReads(reader), x, mask=mask, after=after, batch=batch
            )
            columns = audit_service.AUDIT_EXPORT_COLUMNS
        encoder = exports.Encoder(fmt, columns)
        bar = None if args.json else _ExportProgress()
        rows = exports.write_file(out, encoder, batches, size, progress=bar)
        if bar is not None:
            bar.close()
    finally:
        reader.close()
        db.dispose()
    verb = "appended" if size else "wrote"
    _emit(
        args,
        {"rows": rows, "complete": True, "out": str(out), "format": fmt},
        f"{verb} {rows} row(s) to {out}",
    )
    return 0


class _ExportProgress:
    """``exported 52000 rows`` on standard error, redrawn in place on a terminal, else a
    line every 100 000 rows (an export does not count its rows first)."""

    def __init__(self) -> None:
        self.done = 0
        self.tty = sys.stderr.isatty()

    def __call__(self, rows: int) -> None:
        before, self.done = self.done, self.done + rows
        if self.tty:
            print(f"\rexported {self.done} rows", end="", file=sys.stderr)
        elif before // 100_000 != self.done // 100_000:
            print(f"exported {self.done} rows", file=sys.stderr)
        sys.stderr.flush()

    def close(self) -> None:
        if self.tty:
            print(file=sys.stderr)


class _ArgumentParser(argparse.ArgumentParser):
    """argparse, answering bad arguments in one line (JSON with ``--json``)."""

    json_errors = False

    def error(self, message: str) -> NoReturn:
        if self.json_errors:
            print(json.dumps({"error": message}))
        else:
            print(f"{self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def _bounded_int(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be a whole number from {low} to {high}, not {text!r}"
            ) from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be a whole number from {low} to {high}, not {text!r}"
            )
        return value

    return parse


def _parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(prog="eventrail", description=__doc__)
    parser.add_argument("--version", action="version", version=f"eventrail {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(
        subparsers: Any, name: str, handler: Callable[..., int], help_: str
    ) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = subparsers.add_parser(name, help=help_)
        p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
        p.set_defaults(handler=handler)
        return p

    add(sub, "migrate", cmd_migrate, "bring the database schema to the latest migration")

    backup = add(
        sub,
        "backup",
        cmd_backup,
        "copy the SQLite database to PATH while servers run (PostgreSQL: use pg_dump)",
    )
    backup.add_argument("path", metavar="PATH", help="the copy to write (mode 600)")
    backup.add_argument("--force", action="store_true", help="overwrite PATH if it exists")

    serve = add(sub, "serve", cmd_serve, "run the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_bounded_int(1, 65535), default=8000)
    serve.add_argument("--workers", type=_bounded_int(1, 256), default=1)
    serve.add_argument(
        "--header-timeout",
        dest="header_timeout",
        type=float,
        help="seconds to receive a request's headers (EVENTRAIL_HEADER_TIMEOUT_SECONDS, 10)",
    )
    serve.add_argument(
        "--body-timeout",
        dest="body_timeout",
        type=float,
        help="seconds to receive a request's body (EVENTRAIL_BODY_TIMEOUT_SECONDS, 30)",
    )
    serve.add_argument(
        "--max-connections",
        dest="max_connections",
        type=int,
        help="open connections per process (EVENTRAIL_MAX_CONNECTIONS, 1000)",
    )
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
        type=_bounded_int(1, 16),
        help="processor threads, 1 to 16 (default: EVENTRAIL_PROCESSOR_THREADS, at least 1)",
    )

    prune_ = add(
        sub,
        "prune",
        cmd_prune,
        "delete what each org's retention has expired (log entries, events, finished "
        "notification deliveries, audit entries of orgs that set auditDays)",
    )
    prune_.add_argument(
        "--dry-run",
        dest="dry_run",
        action="store_true",
        help="count what would be deleted, per org, and delete nothing",
    )

    replay = add(
        sub,
        "replay",
        cmd_replay,
        "replay an org's failed log entries (processed by the running processors)",
    )
    replay.add_argument("--org", type=int, required=True)
    replay.add_argument(
        "--status",
        type=str.upper,
        choices=_REPLAYABLE,
        help="only entries of this failure status (default: every replayable failure)",
    )
    replay.add_argument("--since", help="only entries received from this date (the org's timezone)")
    replay.add_argument(
        "--dry-run",
        dest="dry_run",
        action="store_true",
        help="say what would be replayed, replaying nothing",
    )

    audit = sub.add_parser("audit", help="the audit trail").add_subparsers(
        dest="action", required=True
    )
    verify = add(
        audit,
        "verify",
        cmd_audit_verify,
        "check the audit hash chain: exit 1 naming the first entry edited, deleted or inserted",
    )
    verify.add_argument("--org", type=int, help="one org (default: every org)")
    verify.add_argument(
        "--from", dest="from_date", help="start at the first entry written from this date"
    )

    export = add(
        sub,
        "export",
        cmd_export,
        "write an org's log entries, audit entries or events to a file (NDJSON or CSV)",
    )
    export.add_argument("kind", choices=("logs", "audits", "events"))
    export.add_argument("--org", type=int, required=True)
    export.add_argument("--out", required=True, help="the file (.csv: CSV unless --format)")
    export.add_argument("--format", choices=("ndjson", "csv"))
    export.add_argument(
        "--resume", action="store_true", help="continue after the last whole row of --out"
    )
    export.add_argument("--from", dest="from_date", help="from this date (the org's timezone)")
    export.add_argument("--to", dest="to_date", help="to this date, inclusive")
    export.add_argument("--event-name", dest="event_name", help="logs, events: this event only")
    export.add_argument("--status", help="logs: this status only")
    export.add_argument(
        "--entity-type", dest="entity_type", type=str.upper, choices=("CUSTOMER", "CARD")
    )
    export.add_argument("--entity-id", dest="entity_id", type=int)
    export.add_argument(
        "--reference-type", dest="reference_type", help="audits: this referenceType"
    )
    export.add_argument(
        "--unmasked",
        action="store_true",
        help="PSI values in clear even when the org masks them",
    )

    org = sub.add_parser("org", help="orgs").add_subparsers(dest="action", required=True)
    org_create = add(org, "create", cmd_org_create, "create an org")
    org_create.add_argument("--name", required=True)
    org_create.add_argument("--id", type=int)
    org_create.add_argument("--parent", type=int, help="parent org id (connected orgs)")
    org_create.add_argument("--timezone", default="UTC", help="IANA timezone")

    def password_options(p: argparse.ArgumentParser) -> None:
        given = p.add_mutually_exclusive_group()
        given.add_argument(
            "--password", help="visible to other users and kept in shell history: prefer the others"
        )
        given.add_argument(
            "--password-stdin",
            dest="password_stdin",
            action="store_true",
            help="read the password from the first line of standard input",
        )
        given.add_argument(
            "--password-file", dest="password_file", help="read the password from a file"
        )

    till = sub.add_parser("till", help="tills").add_subparsers(dest="action", required=True)
    till_create = add(till, "create", cmd_till_create, "create a till (Basic auth principal)")
    till_create.add_argument("--org", type=int, required=True)
    till_create.add_argument("--code", required=True)
    password_options(till_create)
    till_create.add_argument("--name")
    till_create.add_argument("--store-code", dest="store_code")
    till_create.add_argument("--store-name", dest="store_name")
    till_create.add_argument(
        "--admin", action="store_true", help="may change the org's configuration"
    )
    for name, handler, help_ in (
        ("password", cmd_till_password, "set a till's password (the old one stops working)"),
        ("disable", cmd_till_disable, "disable a till: its logins and its clients' tokens fail"),
        ("enable", cmd_till_enable, "enable a disabled till again"),
        ("admin", cmd_till_admin, "give a till the admin permission (or take it with --off)"),
    ):
        p = add(till, name, handler, help_)
        p.add_argument("--org", type=int, required=True)
        p.add_argument("--code", required=True)
        if name == "password":
            password_options(p)
        if name == "admin":
            p.add_argument("--off", action="store_true", help="take the permission away")

    demo = add(sub, "demo", cmd_demo, "create a demo org with data behind every API")
    demo.add_argument(
        "--if-empty", dest="if_empty", action="store_true", help="only on a database with no org"
    )
    demo.add_argument(
        "--new", action="store_true", help="load another demo even if one is loaded already"
    )
    demo.add_argument(
        "--base-url",
        dest="base_url",
        help="for the printed curls (default: the last demo's, else http://127.0.0.1:8000)",
    )

    client = sub.add_parser("client", help="OAuth clients").add_subparsers(
        dest="action", required=True
    )
    client_create = add(client, "create", cmd_client_create, "create an OAuth client")
    client_create.add_argument("--org", type=int, required=True)
    client_create.add_argument("--till", required=True, help="code of the client's default till")
    client_create.add_argument("--ttl", type=int, help="token lifetime in seconds")
    client_create.add_argument("--psi-view", dest="psi_view", action="store_true")
    client_create.add_argument(
        "--admin", action="store_true", help="may change the org's configuration"
    )
    for name, handler, help_ in (
        ("revoke", cmd_client_revoke, "revoke a client: no new token, its tokens stop working"),
        ("rotate", cmd_client_rotate, "a new secret; the old one and its tokens stop working"),
    ):
        p = add(client, name, handler, help_)
        p.add_argument("--org", type=int, required=True)
        p.add_argument("--key", required=True, help="the client's key")
    return parser


def _settings_problems(exc: ValueError) -> list[str]:
    """One line per bad EVENTRAIL_* setting, without pydantic's links or the values given."""
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError):
        return [str(exc).splitlines()[0]]
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["loc"]:
            name = f"EVENTRAIL_{str(error['loc'][0]).upper()}"
            if not message.startswith(name):
                message = f"{name}: {message}"
        lines.append(message)
    return lines


def _database_problem(exc: Exception, settings: Settings) -> str | None:
    """One line for a database that cannot be opened or used; None for anything else."""
    import sqlalchemy as sa
    from alembic.util import CommandError as AlembicError

    url = sa.make_url(settings.database_url).render_as_string(hide_password=True)
    if isinstance(exc, sa.exc.DBAPIError):
        reason = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc)
        return f"cannot use the database {url}: {reason}"
    if isinstance(exc, AlembicError):
        return f"cannot migrate the database {url}: {str(exc).splitlines()[0]}"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _ArgumentParser.json_errors = "--json" in argv
    args = _parser().parse_args(argv)
    from eventrail.config import get_settings

    try:
        settings = get_settings()
    except ValueError as exc:
        problems = _settings_problems(exc)
        if args.json:
            return _fail(args, "invalid settings: " + "; ".join(problems))
        for problem in problems:
            print(f"eventrail: invalid setting: {problem}", file=sys.stderr)
        return 1

    args.log_json = settings.log_format == "json" and args.command in ("serve", "process")
    try:
        handler: Callable[[argparse.Namespace, Settings], int] = args.handler
        return handler(args, settings)
    except (EventrailError, CommandError) as exc:
        return _fail(args, str(exc))
    except OSError as exc:  # e.g. a data directory that cannot be written
        return _fail(args, f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
    except Exception as exc:
        database_problem = _database_problem(exc, settings)
        if database_problem is None:
            raise
        return _fail(args, database_problem)


if __name__ == "__main__":
    raise SystemExit(main())
