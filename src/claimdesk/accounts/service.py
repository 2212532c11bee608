"""Accounts, staff and their API keys.

Keys are 256 bits from ``secrets``; only their SHA-256 is stored (a slow hash adds nothing for keys of that
strength) and the stored hash is compared in constant time.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from claimdesk.exceptions import Conflict, ValidationFailed
from claimdesk.models import Account, ApiKey, Staff, utcnow
from claimdesk.models.rows import Stamp
from claimdesk.rules.codes import Code
from claimdesk.rules.problems import Problem

from .passwords import hash_password, new_password


class Role(enum.StrEnum):
    AGENT = "agent"
    ADMIN = "admin"


class ActorType(enum.StrEnum):
    RESELLER = "reseller"
    STAFF = "staff"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who calls: a reseller account, a staff member, or the system itself."""

    type: ActorType
    id: int | None
    name: str | None
    role: Role | None = None

    @property
    def is_staff(self) -> bool:
        return self.type is ActorType.STAFF

    def as_dict(self) -> dict[str, object]:
        return {"type": self.type.value, "id": self.id, "name": self.name}

    @property
    def stamp(self) -> Stamp:
        """Who wrote a row, as history entries and messages store it."""
        return {"by_type": self.type.value, "by_id": self.id, "by_name": self.name}


SYSTEM = Actor(ActorType.SYSTEM, None, "claimdesk")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def new_api_key(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


# How many of a key's last characters are kept, to tell keys apart (out of 43 random ones).
KEY_LAST_CHARS = 4


def _add_key(session: Session, key: str, *, account_id: int | None = None, staff_id: int | None = None) -> None:
    session.add(
        ApiKey(
            key_hash=hash_key(key),
            prefix=key[:12],
            last_chars=key[-KEY_LAST_CHARS:],
            account_id=account_id,
            staff_id=staff_id,
        )
    )


def _check_name(name: str, loc: str, max_length: int) -> str:
    name = name.strip()
    if not name:
        raise ValidationFailed([Problem(loc, Code.TOO_SHORT, f"{loc} must not be empty.")])
    if len(name) > max_length:
        raise ValidationFailed([Problem(loc, Code.TOO_LONG, f"{loc} must be at most {max_length} characters.")])
    return name


def create_account(session: Session, name: str, *, api_key: str | None = None) -> tuple[Account, str]:
    """A new reseller account and its first API key (the only time the key is shown)."""
    account = Account(name=_check_name(name, "name", 200), callback_secret=new_webhook_secret())
    session.add(account)
    session.flush()
    key = api_key or new_api_key("cdk")
    _add_key(session, key, account_id=account.id)
    session.flush()
    return account, key


def create_staff(
    session: Session,
    email: str,
    *,
    role: Role = Role.AGENT,
    name: str | None = None,
    api_key: str | None = None,
    password: str | None = None,
) -> tuple[Staff, str, str]:
    """A staff member with an API key and a password for the console (both shown once)."""
    email = _check_name(email, "email", 254).lower()
    if session.scalar(sa.select(Staff.id).where(Staff.email == email)) is not None:
        raise Conflict(f"A staff member with e-mail '{email}' already exists.")
    password = password or new_password()
    staff = Staff(email=email, name=name, role=role.value, password_hash=hash_password(password))
    session.add(staff)
    session.flush()
    key = api_key or new_api_key("cds")
    _add_key(session, key, staff_id=staff.id)
    session.flush()
    return staff, key, password


@dataclass(frozen=True, slots=True)
class KeyGrant:
    """What a key gives: its owner, and until when (a rotated key's grace period), if it ends."""

    actor: Actor
    expires_at: dt.datetime | None
    key_id: int
    last_used_at: dt.datetime | None

    @property
    def use_is_news(self) -> bool:
        """Whether this use is worth writing down (``last_used_at`` is kept to ``KEY_USE_PRECISION``)."""
        return self.last_used_at is None or utcnow() - self.last_used_at >= KEY_USE_PRECISION


def grant_for_key(session: Session, key: str) -> KeyGrant | None:
    """The account or staff member owning ``key`` while it works (not revoked, not expired), or None."""
    digest = hash_key(key)
    now = utcnow()
    row = session.execute(
        sa.select(ApiKey, Account, Staff)
        .outerjoin(Account, ApiKey.account_id == Account.id)
        .outerjoin(Staff, ApiKey.staff_id == Staff.id)
        .where(
            ApiKey.key_hash == digest,
            ApiKey.revoked_at.is_(None),
            sa.or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
        )
    ).first()
    if row is None or not hmac.compare_digest(row.ApiKey.key_hash, digest):
        return None
    found: ApiKey = row.ApiKey
    if row.Account is not None:
        actor = Actor(ActorType.RESELLER, row.Account.id, row.Account.name)
    else:
        staff: Staff = row.Staff
        actor = Actor(ActorType.STAFF, staff.id, staff.name or staff.email, Role(staff.role))
    return KeyGrant(actor, found.expires_at, found.id, found.last_used_at)


# A key's last use is written at most this often, so that a busy key costs no write per call.
KEY_USE_PRECISION = dt.timedelta(minutes=1)


def note_key_use(session: Session, key_id: int) -> None:
    """Write down that the key was just used, unless that is already known to ``KEY_USE_PRECISION``."""
    now = utcnow()
    session.execute(
        sa.update(ApiKey)
        .where(
            ApiKey.id == key_id,
            sa.or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= now - KEY_USE_PRECISION),
        )
        .values(last_used_at=now)
    )


def actor_for_key(session: Session, key: str) -> Actor | None:
    """The account or staff member owning ``key``, or None."""
    grant = grant_for_key(session, key)
    return grant.actor if grant is not None else None


def get_account(session: Session, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None:  # an account is never deleted while its key works
        raise LookupError(account_id)
    return account
