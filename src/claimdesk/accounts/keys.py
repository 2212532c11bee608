"""Rotating and revoking an account's API keys, and the epoch that carries both to every process.

A rotation adds a new key and gives the account's other working keys an end (``expires_at``), the grace
period, so that an integration can switch over without an outage. A revocation ends every key of the
account at once. Both count ``api_key_epoch`` up in their own transaction; every process keeps a cache of
keys it has seen (``api.deps.KeyCache``) and compares the epoch with the one it last read at most
``api_key_recheck_seconds`` apart, dropping the cache when it changed. So a revoked key stops working on
every process, whatever the database, no later than that many seconds after the revocation committed, and
the ``revoke-key`` command waits that long before it says it is done.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from claimdesk.models import ApiKey, ApiKeyEpoch, utcnow

from .service import _add_key, new_api_key
from .users import _account

EPOCH_ROW = 1


@dataclass(frozen=True, slots=True)
class Rotation:
    key: str  # the new key, shown once
    old_keys: int  # how many keys were working before, and now end at ``old_keys_expire_at``
    old_keys_expire_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Revocation:
    revoked: int  # how many keys stopped working
    key: str | None  # the replacement, when one was asked for (shown once)


def key_epoch(session: Session) -> int:
    """The current epoch (0 when the row is missing, as in a database made without the migrations)."""
    epoch = session.scalar(sa.select(ApiKeyEpoch.epoch).where(ApiKeyEpoch.id == EPOCH_ROW))
    return epoch or 0


def bump_epoch(session: Session) -> None:
    """Count the epoch up, in the caller's transaction: every process drops its key cache when it sees it."""
    now = utcnow()
    result = session.execute(
        sa.update(ApiKeyEpoch).where(ApiKeyEpoch.id == EPOCH_ROW).values(epoch=ApiKeyEpoch.epoch + 1, changed_at=now)
    )
    assert isinstance(result, sa.CursorResult)
    if result.rowcount == 0:
        session.add(ApiKeyEpoch(id=EPOCH_ROW, epoch=1, changed_at=now))
    session.flush()


def _working(account_id: int, now: dt.datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        ApiKey.account_id == account_id,
        ApiKey.revoked_at.is_(None),
        sa.or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
    )


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What the account may see of one of its working keys: never the key, nor its hash."""

    prefix: str
    last_chars: str | None  # None for a key made before they were kept
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None  # set while it is in a rotation's grace period

    @property
    def masked(self) -> str:
        """``cdk_…x9Qz``: its kind and last characters; a key made before those were kept, its prefix."""
        if self.last_chars is None:
            return f"{self.prefix}…"
        return f"{self.prefix.partition('_')[0]}_…{self.last_chars}"


def working_keys(session: Session, account_id: int) -> list[KeyInfo]:
    """The account's keys that work now, newest first (a rotated one in its grace period too)."""
    rows = session.scalars(
        sa.select(ApiKey).where(_working(account_id, utcnow())).order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
    )
    return [KeyInfo(k.prefix, k.last_chars, k.created_at, k.last_used_at, k.expires_at) for k in rows]


def rotate_key(session: Session, account_id: int, *, grace: dt.timedelta) -> Rotation:
    """A new key for the account; its other working keys keep working for ``grace`` (none of them longer
    than it already would), then stop."""
    _account(session, account_id)
    now = utcnow()
    ends = now + grace
    old = list(session.scalars(sa.select(ApiKey).where(_working(account_id, now)).with_for_update()))
    for key in old:
        if key.expires_at is None or key.expires_at > ends:
            key.expires_at = ends
    new = new_api_key("cdk")
    _add_key(session, new, account_id=account_id)
    bump_epoch(session)
    latest = max((k.expires_at for k in old if k.expires_at is not None), default=None)
    return Rotation(new, len(old), latest)


def revoke_keys(session: Session, account_id: int, *, replace: bool) -> Revocation:
    """End every key of the account now; with ``replace``, give it a new one."""
    _account(session, account_id)
    now = utcnow()
    result = session.execute(sa.update(ApiKey).where(_working(account_id, now)).values(revoked_at=now))
    assert isinstance(result, sa.CursorResult)
    new = None
    if replace:
        new = new_api_key("cdk")
        _add_key(session, new, account_id=account_id)
    bump_epoch(session)
    return Revocation(result.rowcount, new)
