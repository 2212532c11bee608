"""Accounts and keys: random keys shown once, stored hashed, found again by their hash."""

from __future__ import annotations

import sqlalchemy as sa

from claimdesk.accounts.service import actor_for_key, create_account, create_staff, hash_key
from claimdesk.db import Database
from claimdesk.models import ApiKey


class TestKeys:
    def test_keys_are_stored_hashed(self, db: Database) -> None:
        with db.transaction() as session:
            _account, key = create_account(session, "Print Partners")
        with db.session() as session:
            stored = session.scalars(sa.select(ApiKey.key_hash)).all()
        assert stored == [hash_key(key)]
        assert key not in stored
        assert len(key) > 40

    def test_keys_are_random(self, db: Database) -> None:
        with db.transaction() as session:
            keys = {create_account(session, f"Reseller {i}")[1] for i in range(5)}
        assert len(keys) == 5

    def test_a_key_finds_its_owner(self, db: Database) -> None:
        with db.transaction() as session:
            account, key = create_account(session, "Print Partners")
            staff, staff_key, _password = create_staff(session, "Agent@Supplier.example")
        with db.session() as session:
            reseller = actor_for_key(session, key)
            agent = actor_for_key(session, staff_key)
            nobody = actor_for_key(session, key + "x")
        assert reseller is not None
        assert (reseller.id, reseller.is_staff) == (account.id, False)
        assert agent is not None
        assert (agent.id, agent.is_staff) == (staff.id, True)
        assert staff.email == "agent@supplier.example"
        assert nobody is None

    def test_revoked_keys_do_not_work(self, db: Database) -> None:
        with db.transaction() as session:
            _account, key = create_account(session, "Print Partners")
        with db.transaction() as session:
            session.execute(sa.update(ApiKey).values(revoked_at=sa.func.now()))
        with db.session() as session:
            assert actor_for_key(session, key) is None
