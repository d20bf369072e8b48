from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from eventrail.models import OAuthClient, Org, Store, Till


class AuthRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def tills_by_code(self, code: str) -> list[tuple[Till, Org, Store | None]]:
        """Every till with this code, in any org: Basic auth names a till by code only."""
        stmt = (
            sa.select(Till, Org, Store)
            .join(Org, Org.id == Till.org_id)
            .outerjoin(Store, (Store.id == Till.store_id) & (Store.org_id == Till.org_id))
            .where(Till.code == code, Till.disabled_at.is_(None))
        )
        return [(till, org, store) for till, org, store in self.session.execute(stmt)]

    def till_in_org(self, org_id: int, till_id: int) -> tuple[Till, Org, Store | None] | None:
        stmt = (
            sa.select(Till, Org, Store)
            .join(Org, Org.id == Till.org_id)
            .outerjoin(Store, (Store.id == Till.store_id) & (Store.org_id == Till.org_id))
            .where(Till.org_id == org_id, Till.id == till_id, Till.disabled_at.is_(None))
        )
        row = self.session.execute(stmt).first()
        return (row[0], row[1], row[2]) if row is not None else None

    def tills_in_org(self, org_id: int, till_ids: set[int]) -> dict[int, Till]:
        """The org's tills with these ids (disabled ones too: they made past changes)."""
        if not till_ids:
            return {}
        stmt = sa.select(Till).where(Till.org_id == org_id, Till.id.in_(sorted(till_ids)))
        return {till.id: till for till in self.session.scalars(stmt)}

    def client_by_key(self, key: str) -> OAuthClient | None:
        """The client with this key, unless revoked: what logging in may use."""
        stmt = sa.select(OAuthClient).where(
            OAuthClient.key == key, OAuthClient.revoked_at.is_(None)
        )
        return self.session.scalars(stmt).first()

    def client_in_org(self, org_id: int, client_id: int) -> OAuthClient | None:
        """The client, unless revoked: what a token may still act as."""
        stmt = sa.select(OAuthClient).where(
            OAuthClient.org_id == org_id,
            OAuthClient.id == client_id,
            OAuthClient.revoked_at.is_(None),
        )
        return self.session.scalars(stmt).first()

    def client_of_org(self, org_id: int, key: str) -> OAuthClient | None:
        """The client with this key in the org, revoked or not (provisioning)."""
        stmt = sa.select(OAuthClient).where(OAuthClient.org_id == org_id, OAuthClient.key == key)
        return self.session.scalars(stmt).first()

    def add(self, obj: Till | OAuthClient | Store) -> None:
        self.session.add(obj)
        self.session.flush()

    # -- changes to a till or a client, written at once ----------------------------
    def set_till_password(self, till: Till, password_hash: str) -> None:
        till.password_hash = password_hash
        self.session.flush()

    def set_till_disabled(self, till: Till, disabled_at: int | None) -> None:
        """Disabled since ``disabled_at`` (epoch ms), or enabled (None)."""
        till.disabled_at = disabled_at
        self.session.flush()

    def set_till_admin(self, till: Till, admin: bool) -> None:
        till.admin = admin
        self.session.flush()

    def set_client_revoked(self, client: OAuthClient, revoked_at: int) -> None:
        client.revoked_at = revoked_at
        self.session.flush()

    def set_client_secret(
        self, client: OAuthClient, secret_hash: str, *, token_version: int
    ) -> None:
        """A new secret; tokens carrying another ``token_version`` stop working."""
        client.secret_hash = secret_hash
        client.token_version = token_version
        self.session.flush()

    def store_by_code(self, org_id: int, code: str) -> Store | None:
        stmt = sa.select(Store).where(Store.org_id == org_id, Store.code == code)
        return self.session.scalars(stmt).first()

    def till_by_code(self, org_id: int, code: str) -> Till | None:
        stmt = sa.select(Till).where(Till.org_id == org_id, Till.code == code)
        return self.session.scalars(stmt).first()
