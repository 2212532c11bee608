"""Typed dependencies, declared once: the database, the caller, the JSON body."""

from __future__ import annotations

import base64
import binascii
import threading
import time
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from claimdesk.accounts.service import Actor, actor_for_key, hash_key
from claimdesk.config import Settings
from claimdesk.db import Database
from claimdesk.exceptions import Forbidden, RateLimited, Unauthenticated

from .body import read_json
from .ratelimit import RateLimiter


@dataclass
class Services:
    """What the app holds for its requests; built once in ``create_app``."""

    settings: Settings
    db: Database
    limiter: RateLimiter
    keys: KeyCache


class KeyCache:
    """Recently seen keys, so that a busy integration does not cost a query per call for its key."""

    ttl_seconds = 30.0

    def __init__(self) -> None:
        self._entries: dict[str, tuple[Actor, float]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> Actor | None:
        entry = self._entries.get(digest)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def put(self, digest: str, actor: Actor) -> None:
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[digest] = (actor, time.monotonic() + self.ttl_seconds)


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


async def _authenticate(request: Request, services: Services) -> Actor:
    header = request.headers.get("authorization")
    if not header:
        raise Unauthenticated()
    for key in _candidate_keys(header):
        digest = hash_key(key)
        actor = services.keys.get(digest)
        if actor is None:
            actor = await run_in_threadpool(services.db.read, actor_for_key, key)
            if actor is None:
                continue
            services.keys.put(digest, actor)
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
