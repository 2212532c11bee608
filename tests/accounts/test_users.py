"""Reseller users: adding, listing, removing; passwords hashed with argon2."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from claimdesk.accounts.passwords import hash_password, verify_password
from claimdesk.accounts.users import add_user, list_users, remove_user
from claimdesk.db import Database
from claimdesk.exceptions import Conflict, NotFound, ValidationFailed
from claimdesk.models import User, WebSession
from claimdesk.web.sessions import Person, UserKind, check_credentials, start_session
from tests.factories import new_reseller


class TestAddUser:
    def test_stores_a_lower_case_email_and_an_argon2_hash(self, db: Database) -> None:
        reseller = new_reseller(db)
        with db.transaction() as session:
            made = add_user(session, reseller.id, " Buyer@Reseller.Example ", name="Bea")
            user_id = made.user.id
        assert len(made.password) >= 16
        with db.session() as session:
            user = session.get(User, user_id)
            assert user is not None
            assert (user.email, user.account_id, user.name) == ("buyer@reseller.example", reseller.id, "Bea")
            assert user.password_hash.startswith("$argon2id$")
            assert made.password not in user.password_hash
            assert check_credentials(session, "BUYER@reseller.example", made.password) == Person(UserKind.USER, user_id)

    def test_unknown_account(self, db: Database) -> None:
        with db.transaction() as session, pytest.raises(NotFound, match="Account 999 not found"):
            add_user(session, 999, "a@reseller.example")

    @pytest.mark.parametrize("email", ["not-an-email", "", "a@b", "a\x00@reseller.example", "x" * 300 + "@r.example"])
    def test_invalid_email(self, db: Database, email: str) -> None:
        reseller = new_reseller(db)
        with db.transaction() as session, pytest.raises(ValidationFailed) as caught:
            add_user(session, reseller.id, email)
        assert [(p.loc, p.code) for p in caught.value.problems] == [("email", "invalid_email")]

    def test_duplicate_email_even_in_another_account(self, db: Database) -> None:
        first, second = new_reseller(db), new_reseller(db)
        with db.transaction() as session:
            add_user(session, first.id, "buyer@reseller.example")
        with db.transaction() as session, pytest.raises(Conflict, match="already exists"):
            add_user(session, second.id, "BUYER@reseller.example")


class TestListAndRemove:
    def test_lists_the_accounts_users_only(self, db: Database) -> None:
        mine, theirs = new_reseller(db), new_reseller(db)
        with db.transaction() as session:
            add_user(session, mine.id, "b@reseller.example")
            add_user(session, mine.id, "a@reseller.example")
            add_user(session, theirs.id, "c@reseller.example")
        with db.session() as session:
            assert [u.email for u in list_users(session, mine.id)] == ["a@reseller.example", "b@reseller.example"]
            with pytest.raises(NotFound):
                list_users(session, 999)

    def test_remove_ends_the_users_sessions_only(self, db: Database) -> None:
        reseller = new_reseller(db)
        with db.transaction() as session:
            leaving = add_user(session, reseller.id, "leaving@reseller.example").user
            staying = add_user(session, reseller.id, "staying@reseller.example").user
            for user in (leaving, staying):
                start_session(session, Person(UserKind.USER, user.id), hours=1)
        with db.transaction() as session:
            remove_user(session, reseller.id, "Leaving@reseller.example")
        with db.session() as session:
            assert session.scalars(sa.select(WebSession.user_id)).all() == [staying.id]
            assert session.get(User, leaving.id) is None

    def test_remove_from_the_wrong_account_is_not_found(self, db: Database) -> None:
        mine, theirs = new_reseller(db), new_reseller(db)
        with db.transaction() as session:
            add_user(session, mine.id, "buyer@reseller.example")
        with db.transaction() as session, pytest.raises(NotFound, match="no user with e-mail"):
            remove_user(session, theirs.id, "buyer@reseller.example")


class TestPasswords:
    def test_argon2_round_trip(self) -> None:
        stored = hash_password("correct horse")
        assert verify_password("correct horse", stored).ok
        assert not verify_password("wrong horse", stored).ok
        assert not verify_password("x", "garbage").ok
        assert not verify_password("x", None).ok
