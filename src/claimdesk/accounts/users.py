"""People of a reseller account who sign in to the web portal (``users``).

E-mails are unique across all users and stored in lower case; passwords are argon2 hashes. Removing a user
ends their web sessions in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import Session

from claimdesk.exceptions import Conflict, NotFound, ValidationFailed
from claimdesk.models import Account, User, WebSession
from claimdesk.rawdb import Sql, Statement
from claimdesk.rules.codes import Code
from claimdesk.rules.fields import check_text
from claimdesk.rules.problems import Problem

from .passwords import hash_password, new_password

USER_KIND = "user"
STAFF_KIND = "staff"


@dataclass(frozen=True, slots=True)
class NewUser:
    user: User
    password: str  # shown once


def normalize_email(email: str, loc: str = "email") -> str:
    """The e-mail in the form it is stored and looked up in, or ValidationFailed (``invalid_email``)."""
    email = email.strip()
    try:
        check_text(email, min_length=3, max_length=254, multiline=False)
        normalized = validate_email(email, check_deliverability=False).normalized
    except (ValueError, EmailNotValidError) as exc:
        raise ValidationFailed(
            [Problem(loc, Code.INVALID_EMAIL, f"'{email}' is not a valid e-mail address: {exc}")]
        ) from None
    return normalized.lower()


def _account(session: Session, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"Account {account_id} not found.")
    return account


def add_user(
    session: Session, account_id: int, email: str, *, name: str | None = None, password: str | None = None
) -> NewUser:
    """A new person of the account, with a random password unless one is given."""
    _account(session, account_id)
    email = normalize_email(email)
    if session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"A user with e-mail '{email}' already exists.")
    password = password or new_password()
    user = User(account_id=account_id, email=email, name=name, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    return NewUser(user, password)


def list_users(session: Session, account_id: int) -> list[User]:
    _account(session, account_id)
    return list(session.scalars(sa.select(User).where(User.account_id == account_id).order_by(User.email)))


def remove_user(session: Session, account_id: int, email: str) -> User:
    """Delete the account's user with this e-mail; their web sessions end at once."""
    _account(session, account_id)
    email = normalize_email(email)
    user = session.scalar(sa.select(User).where(User.account_id == account_id, User.email == email))
    if user is None:
        raise NotFound(f"Account {account_id} has no user with e-mail '{email}'.")
    end_sessions_of(session, USER_KIND, user.id)
    session.delete(user)
    session.flush()
    return user


def user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(sa.select(User).where(User.email == email))


def end_sessions_of(session: Session, kind: str, person_id: int) -> int:
    """End every web session of one person (``kind`` staff or user); returns how many there were."""
    result = session.execute(sa.delete(WebSession).where(WebSession.user_kind == kind, WebSession.user_id == person_id))
    assert isinstance(result, sa.CursorResult)
    return result.rowcount


# The contact e-mail a person gave on their last report in the portal, offered on the next one. Written on
# the intake's DBAPI cursor, in the unit of work that files the report's tickets.
_USERS = cast(sa.Table, User.__table__)
_REMEMBER_CONTACT = Statement.compiled(
    sa.update(_USERS)
    .where(_USERS.c.id == sa.bindparam("user_id"))
    .values(last_contact_email=sa.bindparam("contact_email"))
)


def remember_contact_email(sql: Sql, user_id: int, email: str) -> None:
    sql.run(_REMEMBER_CONTACT, {"user_id": user_id, "contact_email": email})


def last_contact_email(session: Session, user_id: int) -> str | None:
    email: str | None = session.scalar(sa.select(User.last_contact_email).where(User.id == user_id))
    return email
