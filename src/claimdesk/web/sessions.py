"""Web sessions in the database, so that any process serves any page.

The cookie holds 256 random bits; only their SHA-256 is stored. A session ends at sign-out, when its person
is removed, ``web_session_hours`` after sign-in, or after ``web_session_idle_minutes`` without a request.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from claimdesk.accounts.passwords import hash_password, verify_password
from claimdesk.accounts.service import Actor, ActorType, Role
from claimdesk.accounts.users import STAFF_KIND, USER_KIND, end_sessions_of
from claimdesk.models import Account, Staff, User, WebSession, utcnow

# last_seen_at is written at most this often per session: a page view is a read, not a write.
TOUCH_EVERY = dt.timedelta(seconds=60)


__all__ = ["Identity", "Person", "UserKind", "end_sessions_of"]


class UserKind(enum.StrEnum):
    STAFF = STAFF_KIND
    USER = USER_KIND  # a reseller account's person


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a signed-in browser is. ``account_*`` is set for reseller users only."""

    kind: UserKind
    id: int
    email: str
    name: str | None
    role: Role | None
    account_id: int | None
    account_name: str | None
    session_id: int
    csrf_token: str
    last_seen_at: dt.datetime

    @property
    def is_staff(self) -> bool:
        return self.kind is UserKind.STAFF

    @property
    def display_name(self) -> str:
        return self.name or self.email

    @property
    def home(self) -> str:
        return "/console" if self.is_staff else "/portal"

    @property
    def actor(self) -> Actor:
        """The actor the services know: the staff member, or the reseller account the user belongs to."""
        if self.is_staff:
            return Actor(ActorType.STAFF, self.id, self.display_name, self.role)
        return Actor(ActorType.RESELLER, self.account_id, self.account_name)


@dataclass(frozen=True, slots=True)
class Person:
    kind: UserKind
    id: int
    new_hash: str | None = None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def check_credentials(session: Session, email: str, password: str) -> Person | None:
    """The staff member or reseller user with this e-mail and password, or None. Reads only: the slow hash
    is checked outside any write transaction. ``Person.new_hash`` is set when the stored hash was made with
    an older scheme (scrypt) or older argon2 parameters."""
    # Looked up as stored (lower case), not validated: a staff e-mail made before validation still works.
    email = email.strip().lower()
    if not email or len(email) > 254:
        verify_password(password, None)  # the same time as a wrong password
        return None
    candidates: list[Staff | User] = []
    staff = session.scalar(sa.select(Staff).where(Staff.email == email))
    if staff is not None:
        candidates.append(staff)
    user = session.scalar(sa.select(User).where(User.email == email))
    if user is not None:
        candidates.append(user)
    if not candidates:
        verify_password(password, None)
        return None
    for person in candidates:
        verified = verify_password(password, person.password_hash)
        if verified.ok:
            kind = UserKind.STAFF if isinstance(person, Staff) else UserKind.USER
            return Person(kind, person.id, hash_password(password) if verified.needs_rehash else None)
    return None


def start_session(session: Session, person: Person, *, hours: float, replaces: str | None = None) -> str:
    """A new session for ``person`` (ending the browser's previous one, ``replaces``, and any expired ones);
    stores ``person.new_hash``; returns the cookie's token, its only copy."""
    if person.new_hash is not None:
        model = Staff if person.kind is UserKind.STAFF else User
        session.execute(sa.update(model).where(model.id == person.id).values(password_hash=person.new_hash))
    if replaces:
        end_session(session, replaces)
    purge_expired(session)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        WebSession(
            token_hash=token_hash(token),
            user_kind=person.kind.value,
            user_id=person.id,
            csrf_secret=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + dt.timedelta(hours=hours),
        )
    )
    session.flush()
    return token


def load_identity(session: Session, token: str, *, idle_minutes: float) -> Identity | None:
    """The person behind a live session token, or None (unknown, expired or idle too long)."""
    now = utcnow()
    ws = session.scalar(sa.select(WebSession).where(WebSession.token_hash == token_hash(token)))
    if ws is None or ws.expires_at <= now or ws.last_seen_at <= now - dt.timedelta(minutes=idle_minutes):
        return None
    if ws.user_kind == UserKind.STAFF:
        staff = session.get(Staff, ws.user_id)
        if staff is None:
            return None
        return Identity(
            UserKind.STAFF, staff.id, staff.email, staff.name, Role(staff.role), None, None,
            ws.id, ws.csrf_secret, ws.last_seen_at,
        )  # fmt: skip
    row = session.execute(
        sa.select(User, Account.name).join(Account, Account.id == User.account_id).where(User.id == ws.user_id)
    ).first()
    if row is None:
        return None
    user, account_name = row
    return Identity(
        UserKind.USER, user.id, user.email, user.name, None, user.account_id, account_name,
        ws.id, ws.csrf_secret, ws.last_seen_at,
    )  # fmt: skip


def touch_session(session: Session, session_id: int) -> None:
    session.execute(sa.update(WebSession).where(WebSession.id == session_id).values(last_seen_at=utcnow()))


def end_session(session: Session, token: str) -> None:
    session.execute(sa.delete(WebSession).where(WebSession.token_hash == token_hash(token)))


def purge_expired(session: Session) -> int:
    result = session.execute(sa.delete(WebSession).where(WebSession.expires_at <= utcnow()))
    assert isinstance(result, sa.CursorResult)
    return result.rowcount
