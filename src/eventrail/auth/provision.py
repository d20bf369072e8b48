"""Creating tills and OAuth clients: the rules and the statements, shared by
``auth.service`` (in a SQLAlchemy session) and ``eventrail till create`` /
``client create`` (on a plain driver connection, without the ORM:
kit/plainsql.py). The ``tills``, ``stores`` and ``oauth_clients`` tables are the
models'; tests/kit/test_plainsql.py compares the rows written here with the
models' defaults."""

from __future__ import annotations

from eventrail.errors import BadRequest
from eventrail.kit.dates import now_ms
from eventrail.kit.plainsql import Statements
from eventrail.kit.security import hash_secret, md5_hex, new_secret

MAX_TILL_CODE = 100
MAX_PASSWORD = 1000


def password_hash(password: str) -> str:
    if not password:
        raise BadRequest("Till password must not be empty")
    if len(password) > MAX_PASSWORD:
        raise BadRequest(f"Till password must be at most {MAX_PASSWORD} characters")
    # The hash is of md5(password): what Basic auth sends. The plain password is
    # checked by hashing it to md5 first.
    return hash_secret(md5_hex(password))


def create_till(
    statements: Statements,
    *,
    org_id: int,
    code: str,
    password: str,
    name: str | None = None,
    store_code: str | None = None,
    store_name: str | None = None,
    admin: bool = False,
) -> int:
    """A new till of the org (and its store, when ``store_code`` names a new one); its id."""
    if not code or len(code) > MAX_TILL_CODE or ":" in code:
        raise BadRequest(f"Till code must be 1 to {MAX_TILL_CODE} characters and contain no ':'")
    hashed = password_hash(password)
    known = statements.rows(
        "SELECT id FROM tills WHERE org_id = :org_id AND code = :code",
        {"org_id": org_id, "code": code},
    )
    if known:
        raise BadRequest(f"Till code '{code}' already exists in org {org_id}")
    store_id = None
    if store_code:
        stores = statements.rows(
            "SELECT id FROM stores WHERE org_id = :org_id AND code = :code",
            {"org_id": org_id, "code": store_code},
        )
        if stores:
            store_id = stores[0][0]
        else:
            [(store_id,)] = statements.rows(
                "INSERT INTO stores (org_id, code, name) VALUES (:org_id, :code, :name) "
                "RETURNING id",
                {"org_id": org_id, "code": store_code, "name": store_name or store_code},
            )
    [(till_id,)] = statements.rows(
        "INSERT INTO tills (org_id, code, name, store_id, password_hash, created_at, admin) "
        "VALUES (:org_id, :code, :name, :store_id, :password_hash, :created_at, :admin) "
        "RETURNING id",
        {
            "org_id": org_id,
            "code": code,
            "name": name or code,
            "store_id": store_id,
            "password_hash": hashed,
            "created_at": now_ms(),
            "admin": admin,
        },
    )
    return int(till_id)


def create_client(
    statements: Statements,
    *,
    org_id: int,
    till_code: str,
    ttl_seconds: int,
    psi_view: bool,
    admin: bool = False,
) -> tuple[int, str, str]:
    """A new OAuth client: its id, key and secret (shown only this once)."""
    tills = statements.rows(
        "SELECT id, disabled_at FROM tills WHERE org_id = :org_id AND code = :code",
        {"org_id": org_id, "code": till_code},
    )
    if not tills:
        raise BadRequest(f"No till '{till_code}' in org {org_id}")
    till_id, disabled_at = tills[0]
    if disabled_at is not None:
        raise BadRequest(f"Till '{till_code}' is disabled")
    if not 60 <= ttl_seconds <= 86400:
        raise BadRequest("Token TTL must be between 60 and 86400 seconds")
    secret = new_secret(32)
    key = new_secret(18)
    [(client_id,)] = statements.rows(
        "INSERT INTO oauth_clients "
        "(org_id, key, secret_hash, till_id, ttl_seconds, psi_view, created_at, admin, "
        "token_version) VALUES (:org_id, :key, :secret_hash, :till_id, :ttl_seconds, "
        ":psi_view, :created_at, :admin, 0) RETURNING id",
        {
            "org_id": org_id,
            "key": key,
            "secret_hash": hash_secret(secret),
            "till_id": till_id,
            "ttl_seconds": ttl_seconds,
            "psi_view": psi_view,
            "created_at": now_ms(),
            "admin": admin,
        },
    )
    return int(client_id), key, secret
