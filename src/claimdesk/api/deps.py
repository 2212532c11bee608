"""Typed dependencies, declared once: the database, the caller, the JSON body."""

from __future__ import annotations

import base64
import binascii
import logging
import threading
import time
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from claimdesk.accounts.keys import key_epoch
from claimdesk.accounts.service import Actor, KeyGrant, grant_for_key, hash_key, note_key_use
from claimdesk.config import Settings
from claimdesk.db import Database
from claimdesk.exceptions import Forbidden, RateLimited, Unauthenticated
from claimdesk.models import utcnow

from .body import read_json
from .ratelimit import RateLimiter

log = logging.getLogger(__name__)


@dataclass
class Services:
    """What the app holds for its requests; built once in ``create_app``."""

    settings: Settings
    db: Database
    limiter: RateLimiter
    keys: KeyCache


class KeyCache:
    """Recently seen keys, so that a busy integration does not cost a query per call for its key.

    An entry lives ``ttl_seconds``, or until its key's grace period ends if that is sooner. Revocations
    reach the cache through the key epoch (``accounts.keys``): when ``recheck_seconds`` have passed since
    the last look, the next request reads the epoch (one row, once per process and period, not per
    request) and the whole cache is dropped if it changed. An entry is only put if no drop happened while
    its key was being looked up, so a lookup that raced a revocation cannot bring the key back.
    """

    ttl_seconds = 30.0

    def __init__(self, recheck_seconds: float = 1.0) -> None:
        self.recheck_seconds = recheck_seconds
        self._entries: dict[str, tuple[Actor, float]] = {}
        self._lock = threading.Lock()
        self._epoch: int | None = None
        self._generation = 0
        self._checked_until = 0.0  # monotonic time until which the last epoch read holds

    @property
    def stale(self) -> bool:
        return time.monotonic() >= self._checked_until

    def refresh(self, db: Database) -> None:
        """Read the epoch, unless another request did so meanwhile; drop every entry if it changed."""
        with self._lock:
            if not self.stale:
                return
            started = time.monotonic()
            epoch = db.read(key_epoch)
            if epoch != self._epoch:
                self._entries.clear()
                self._generation += 1
                self._epoch = epoch
            self._checked_until = started + self.recheck_seconds

    @property
    def generation(self) -> int:
        return self._generation

    def get(self, digest: str) -> Actor | None:
        entry = self._entries.get(digest)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def put(self, digest: str, grant: KeyGrant, generation: int) -> None:
        lifetime = self.ttl_seconds
        if grant.expires_at is not None:
            lifetime = min(lifetime, (grant.expires_at - utcnow()).total_seconds())
        with self._lock:
            if generation != self._generation:  # dropped while the key was looked up
                return
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[digest] = (grant.actor, time.monotonic() + lifetime)


# The small dependencies are ``async def`` so that FastAPI runs them on the event loop: a sync dependency
# costs a hop to the thread pool on every request.


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_services(request: Request) -> Services:
    return services_of(request)


ServicesDep = Annotated[Services, Depends(get_services)]


def _candidate_keys(header: str) -> list[str]:
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if not value:
        return []
    scheme = scheme.lower()
    if scheme == "bearer":
        return [value]
    if scheme == "basic":
        # The key as it is, or standard Basic with the key as user name and an empty password.
        keys = [value]
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return keys
        keys.append(decoded.partition(":")[0])
        return keys
    return []


async def _note_use(services: Services, key_id: int) -> None:
    # Best effort: a database that is full, or busy past its timeout, must not refuse a call for this.
    try:
        await run_in_threadpool(services.db.write, note_key_use, key_id)
    except SQLAlchemyError:
        log.warning("could not note the use of API key %s", key_id, exc_info=True)


async def _authenticate(request: Request, services: Services) -> Actor:
    header = request.headers.get("authorization")
    if not header:
        raise Unauthenticated()
    keys = services.keys
    if keys.stale:  # once per process and recheck period: has any key been revoked or rotated?
        await run_in_threadpool(keys.refresh, services.db)
    for key in _candidate_keys(header):
        digest = hash_key(key)
        actor = keys.get(digest)
        if actor is None:
            generation = keys.generation
            grant = await run_in_threadpool(services.db.read, grant_for_key, key)
            if grant is None:
                continue
            keys.put(digest, grant, generation)
            actor = grant.actor
            if grant.use_is_news:  # at most once a minute per key: the cache keeps it from every call
                await _note_use(services, grant.key_id)
        quota = services.limiter.hit(f"{actor.type}:{actor.id}")
        # The middleware in app.py copies this onto the answer, whatever the answer is.
        request.state.quota = quota
        if not quota.allowed:
            raise RateLimited(retry_after=-(-quota.reset_ms // 1000))
        return actor
    raise Unauthenticated("The API key is not valid.")


async def current_actor(request: Request, services: ServicesDep) -> Actor:
    return await _authenticate(request, services)


def _reseller_only(actor: Actor) -> Actor:
    if actor.is_staff:
        raise Forbidden("This endpoint is for reseller keys; staff use the /staff endpoints.")
    return actor


async def current_reseller(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
    return _reseller_only(actor)


async def reseller_and_body(request: Request) -> tuple[Services, Actor, Any]:
    """What ResellerDep, ServicesDep and JsonBody give, in the same order (401/403/429 before the body is
    read), for the busiest route, which calls it directly: FastAPI's dependency resolver cost it a fifth of
    a ticket's time."""
    services = services_of(request)
    actor = _reseller_only(await _authenticate(request, services))
    return services, actor, await read_json(request, services.settings.max_body_bytes)


async def current_staff(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
    if not actor.is_staff:
        raise Forbidden("This endpoint needs a staff key.")
    return actor


ActorDep = Annotated[Actor, Depends(current_actor)]
ResellerDep = Annotated[Actor, Depends(current_reseller)]
StaffDep = Annotated[Actor, Depends(current_staff)]


async def json_body(request: Request, services: ServicesDep) -> Any:
    return await read_json(request, services.settings.max_body_bytes)


JsonBody = Annotated[Any, Depends(json_body)]
