"""Settings: one class, read from ``EVENTRAIL_*`` environment variables, checked at start-up."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_SECRET_FILE = ".eventrail-secret"  # noqa: S105 (a file name)
_MIN_SECRET_LENGTH = 32


class Settings(BaseSettings):
    """Everything eventrail reads from its environment.

    Unsafe values (a short secret key, an unknown database scheme, a public URL
    that is not http(s)) fail here, at start-up, rather than at the first request.
    """

    model_config = SettingsConfigDict(env_prefix="EVENTRAIL_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///eventrail.db",
        description="sqlite:///<path> (default: in the working directory) or postgresql://",
    )
    read_database_url: str | None = Field(
        default=None,
        description="postgresql:// of a streaming replica: the read APIs (logs, event data, "
        "audits, the summary, the console's reads) read from it; writes stay on the primary.",
    )
    read_threads: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Threads and pooled read connections per process (and per database) for "
        "the reads that can be slow, kept off the event loop.",
    )
    data_dir: Path = Field(
        default=Path("."),
        description="Where eventrail keeps its generated secret key when none is given.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Signs OAuth tokens (HS256); generated in the data directory if unset.",
    )
    redis_url: str | None = Field(default=None, description="Optional Redis for shared limits.")
    redis_key_prefix: str = Field(
        default="eventrail", min_length=1, max_length=100, description="Prefix of Redis keys."
    )
    public_url: str | None = Field(
        default=None, description="Base of webhook URIs; default http://<host>:<port>."
    )
    auth_failures_per_minute: int = Field(
        default=10,
        ge=1,
        le=100_000,
        description="Failed logins per till code (or OAuth client key) and source address per "
        "minute; past it, every login of that code from that address, right or wrong, gets "
        "429 until the minute ends. Other addresses are not affected.",
    )
    auth_failures_per_hour: int = Field(
        default=100,
        ge=1,
        le=1_000_000,
        description="Failed logins per till code (or OAuth client key) per hour from all "
        "addresses; past it, an address that has failed 3 times on that code this hour gets "
        "429 for it; an address that has not failed is still checked.",
    )
    default_token_ttl_seconds: int = Field(default=3600, ge=60, le=86400)
    db_pool_size: int = Field(default=10, ge=1, le=200)
    processor_threads: int = Field(
        default=1, ge=0, le=16, description="Processor threads per server process (0: none)."
    )
    processor_batch_size: int = Field(default=500, ge=1, le=5000)
    log_level: str = Field(default="info")
    log_format: str = Field(
        default="text",
        description="text (human-readable lines) or json (one JSON object per line).",
    )
    ready_max_queue_age_seconds: int = Field(
        default=60,
        ge=1,
        le=86_400,
        description="GET /ready answers 503 while the oldest queued event has waited longer.",
    )
    header_timeout_seconds: float = Field(
        default=10,
        ge=1,
        le=300,
        description="A connection must send a complete request line and headers within this "
        "many seconds of opening (or of the request's first byte); else 408 and closed.",
    )
    body_timeout_seconds: float = Field(
        default=30,
        ge=1,
        le=3600,
        description="A request body must be complete within this many seconds of the end of "
        "its headers; else the connection is closed.",
    )
    max_connections: int = Field(
        default=1000,
        ge=10,
        le=1_000_000,
        description="Open connections per server process; past it a new connection closes the "
        "one waiting longest for its headers, or gets 503 if none is waiting.",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="When set, GET /metrics wants `Authorization: Bearer <token>` (else 401).",
    )
    metrics_dir: Path | None = Field(
        default=None,
        description="A directory where every eventrail process of this host that is given "
        "it (serve workers, `eventrail process`) writes its metrics, so that GET /metrics "
        "adds them all up. Unset: a private temporary one for `serve --workers N` (N > 1), "
        "none for one process.",
    )

    retention_event_logs_days: int = Field(
        default=90,
        ge=1,
        le=36_500,
        description="Days the processing log (and the bodies of refused, invalid and set-aside "
        "requests in it) and finished notification deliveries are kept, for orgs that set "
        "no eventLogsDays.",
    )
    retention_event_data_days: int = Field(
        default=365,
        ge=1,
        le=36_500,
        description="Days stored events (and their unique keys) are kept, for orgs that set "
        "no eventDataDays.",
    )
    retention_interval_seconds: int = Field(
        default=300,
        ge=0,
        le=86_400,
        description="How often processors prune expired rows in the background (0: never; "
        "`eventrail prune` still does).",
    )
    retention_batch_rows: int = Field(
        default=500,
        ge=1,
        le=10_000,
        description="Rows one pruning transaction deletes at most.",
    )
    notify_allow_private: bool = Field(
        default=False,
        description="Let notification webhooks reach private, loopback and link-local "
        "addresses (on-premises receivers, tests). Off: refused at registration and "
        "before each delivery (docs/notifications.md).",
    )
    notify_timeout_seconds: float = Field(
        default=15, gt=0, le=120, description="Timeout of each notification request phase."
    )
    notify_retry_base_seconds: float = Field(
        default=5, gt=0, le=3600, description="First retry delay of a failed notification."
    )
    notify_retry_max_seconds: float = Field(
        default=3600, gt=0, le=86_400, description="Longest delay between two retries."
    )
    notify_give_up_seconds: float = Field(
        default=259_200,
        gt=0,
        le=30 * 86_400,
        description="A notification still failing this long after it was written is marked "
        "failed (redeliverable).",
    )
    notify_senders: int = Field(
        default=4,
        ge=1,
        le=256,
        description="Notification requests in flight at once per process (where processors run).",
    )

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
            raise ValueError("EVENTRAIL_DATABASE_URL must start with sqlite:// or postgresql://")
        return value

    @field_validator("read_database_url")
    @classmethod
    def _replica_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgresql+psycopg://")):
            raise ValueError("EVENTRAIL_READ_DATABASE_URL must start with postgresql://")
        return value or None

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None:
            if not value.startswith(("http://", "https://")):
                raise ValueError("EVENTRAIL_PUBLIC_URL must start with http:// or https://")
            value = value.rstrip("/")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        value = value.lower()
        if value not in {"critical", "error", "warning", "info", "debug"}:
            raise ValueError("EVENTRAIL_LOG_LEVEL must be one of critical/error/warning/info/debug")
        return value

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        value = value.lower()
        if value not in {"text", "json"}:
            raise ValueError("EVENTRAIL_LOG_FORMAT must be text or json")
        return value

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not 16 <= len(value.get_secret_value()) <= 1024:
            raise ValueError("EVENTRAIL_METRICS_TOKEN must be 16 to 1024 characters")
        if value is not None and not value.get_secret_value().isprintable():
            raise ValueError("EVENTRAIL_METRICS_TOKEN must be printable characters")
        return value

    @model_validator(mode="after")
    def _strong_secret(self) -> Settings:
        if self.secret_key is not None and len(self.secret_key.get_secret_value()) < (
            _MIN_SECRET_LENGTH
        ):
            raise ValueError(
                f"EVENTRAIL_SECRET_KEY must be at least {_MIN_SECRET_LENGTH} characters"
            )
        return self

    @model_validator(mode="after")
    def _replica_of_postgres(self) -> Settings:
        if self.read_database_url is not None and self.is_sqlite:
            raise ValueError(
                "EVENTRAIL_READ_DATABASE_URL needs a PostgreSQL EVENTRAIL_DATABASE_URL"
            )
        return self

    @property
    def sqlalchemy_url(self) -> str:
        """The URL with the driver SQLAlchemy should use (psycopg 3 for PostgreSQL)."""
        url = self.database_url
        if url.startswith("postgresql://"):
            return "postgresql+psycopg://" + url[len("postgresql://") :]
        return url

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_path(self) -> str | None:
        """The SQLite database file (None for PostgreSQL or an in-memory database)."""
        if not self.is_sqlite:
            return None
        path = self.database_url.removeprefix("sqlite://").removeprefix("/").split("?", 1)[0]
        return path if path and path != ":memory:" else None

    def signing_key(self) -> str:
        """The token signing key: the configured one, else one kept in the data directory."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.data_dir / _SECRET_FILE
        try:
            key = path.read_text().strip()
        except FileNotFoundError:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            key = secrets.token_urlsafe(48)
            # Written aside, then linked into place: when two processes start at once,
            # one link wins and both use its key; nobody ever reads a half-written file.
            tmp = path.with_name(f"{_SECRET_FILE}.{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(key)
            try:
                os.link(tmp, path)
            except FileExistsError:
                key = path.read_text().strip()
            finally:
                tmp.unlink()
        if len(key) < _MIN_SECRET_LENGTH:
            raise ValueError(f"the secret key in {path} is too short")
        return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
