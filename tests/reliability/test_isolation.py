"""Tenant isolation, generated from the app's route table: every route (API and web pages alike) is called as
another account's key and session, a staff key and session, a revoked key and nobody, with the first account's
ids in the path. Each answer must be the documented one, and none may carry what the caller did not send of
the first account's data. A new route is walked without being named here; a route without a guard fails
unless it is listed in ``PUBLIC`` with its reason."""

from __future__ import annotations

import enum
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Mount

from claimdesk.accounts.keys import revoke_keys
from claimdesk.accounts.users import add_user
from claimdesk.api.deps import current_actor, current_reseller, current_staff
from claimdesk.app import create_app
from claimdesk.config import Settings
from claimdesk.db import Database
from claimdesk.testing.server import ThreadedServer
from claimdesk.web.deps import CSRF_HEADER, require_reseller_user, require_staff
from claimdesk.web.render import SESSION_COOKIE
from tests.factories import new_order, new_reseller, new_staff, new_ticket, order_body, ticket_body
from tests.files.fileserver import png_bytes
from tests.web.conftest import csrf_of, sign_in

PUBLIC_ADDRESS = "93.184.215.14"  # a public address: accepted in URLs, never fetched (no worker here)


class Guard(enum.Enum):
    RESELLER_API = "reseller key"
    ANY_KEY = "any key"
    STAFF_API = "staff key"
    RESELLER_PAGE = "reseller user's session"
    STAFF_PAGE = "staff session"
    PUBLIC = "public"


GUARD_OF: dict[Callable[..., Any], Guard] = {
    current_reseller: Guard.RESELLER_API,
    current_staff: Guard.STAFF_API,
    current_actor: Guard.ANY_KEY,
    require_reseller_user: Guard.RESELLER_PAGE,
    require_staff: Guard.STAFF_PAGE,
}
# Routes that check their caller themselves rather than through a dependency.
GUARDED_BY_HAND = {("POST", "/tickets"): Guard.RESELLER_API}  # reseller_and_body(), for speed
# Routes anyone may call, each with the reason. They are walked too: no 5xx, no other account's data.
PUBLIC = {
    ("GET", "/openapi.json"): "the API's description, the same for everyone",
    ("GET", "/docs"): "the interactive API docs (a static page that reads /openapi.json)",
    ("GET", "/redoc"): "the API reference (a static page that reads /openapi.json)",
    ("GET", "/static/{path}"): "stylesheets, scripts and icons of the pages",
    ("GET", "/"): "sends to /login, or to the signed-in person's own area",
    ("GET", "/login"): "the sign-in form",
    ("POST", "/login"): "signing in (throttled; its own tests)",
    ("POST", "/logout"): "ends the browser's own session only",
}
# The path's start says which guard a route must have (the contract: /staff is for staff keys).
PREFIX_GUARDS = {
    "/staff/": Guard.STAFF_API,
    "/console": Guard.STAFF_PAGE,
    "/portal": Guard.RESELLER_PAGE,
}
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


class Caller(enum.Enum):
    B_KEY = "account B's key"
    B_SESSION = "account B's user's session"
    STAFF_KEY = "a staff key"
    STAFF_SESSION = "a staff session"
    REVOKED = "account A's revoked key"
    NOBODY = "no credentials"


@dataclass(frozen=True)
class Person:
    headers: dict[str, str]
    cookie: str | None = None
    csrf: str | None = None

    def request_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.cookie is not None:
            headers["Cookie"] = f"{SESSION_COOKIE}={self.cookie}"
        if self.csrf is not None:
            headers[CSRF_HEADER] = self.csrf
        return headers


@dataclass
class World:
    """Account A with an order, a ticket, a stored image with its thumbnail, a message, a webhook with a
    delivery, a portal user and a revoked key; account B with a user; a staff member."""

    ids: dict[str, str]  # path parameter -> A's value
    secrets: list[str]  # everything of A's that no other caller may be shown
    people: dict[Caller, Person]
    owner_key: Person
    owner_session: Person
    order_number: int
    ticket_number: int
    staff_id: int
    snapshot: Callable[[], dict[str, Any]] = field(repr=False)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Cookies over http://, and revocations seen at once (the recheck period is its own test's subject).
    return settings.model_copy(update={"secure_cookies": False, "api_key_recheck_seconds": 0.05})


@pytest.fixture
def app(settings: Settings, db: Database) -> FastAPI:
    return create_app(settings, database=db, worker=False)


@pytest.fixture
def server(app: FastAPI) -> Iterator[ThreadedServer]:
    with ThreadedServer(app) as running:
        yield running


def session_of(base_url: str, email: str, password: str, home: str) -> Person:
    with httpx.Client(base_url=base_url, timeout=30) as browser:
        signed_in = sign_in(browser, email, password)
        assert signed_in.status_code == 303, signed_in.text
        cookie = browser.cookies[SESSION_COOKIE]
        page = browser.get(home)
        assert page.status_code == 200, page.text
        return Person({}, cookie=cookie, csrf=csrf_of(page))


def build_world(client: httpx.Client, db: Database, base_url: str) -> World:
    mark = uuid.uuid4().hex[:10]
    alpha = new_reseller(db, f"Alpha Prints {mark}")
    beta = new_reseller(db, f"Beta Prints {uuid.uuid4().hex[:6]}")
    staff = new_staff(db)

    hook = client.post(
        "/webhooks",
        json={"url": f"https://{PUBLIC_ADDRESS}/a-hook-{mark}", "events": ["ticket.created"]},
        headers=alpha.headers,
    )
    assert hook.status_code == 201, hook.text
    webhook = hook.json()
    order = new_order(
        client,
        alpha,
        id=f"a-order-{mark}",
        reference=f"a-reference-{mark}",
        customer_email=f"a-customer-{mark}@example.org",
        callback_urls=[f"https://{PUBLIC_ADDRESS}/a-callback-{mark}"],
    )
    ticket = new_ticket(
        client,
        alpha,
        order,
        id=f"a-ticket-{mark}",
        description=f"a-description-{mark}",
        reason="missing",
        contact_email=f"a-contact-{mark}@reseller.example",
        products=[{"id": order["products"][0]["id"], "amount": 1}],
    )
    upload = client.post(
        f"/tickets/{ticket['id']}/files",
        files=[("files", (f"a-photo-{mark}.png", png_bytes(), "image/png"))],
        data={"product": str(order["products"][0]["id"])},
        headers=alpha.headers,
    )
    assert upload.status_code == 201, upload.text
    (stored,) = upload.json()["products"][0]["files"]
    assert stored["thumbnail_url"], stored
    reply = client.post(f"/tickets/{ticket['id']}/messages", json={"body": f"a-message-{mark}"}, headers=alpha.headers)
    assert reply.status_code == 201, reply.text
    note = client.post(
        f"/staff/tickets/{ticket['number']}/messages",
        json={"body": f"a-internal-note-{mark}", "internal": True},
        headers=staff.headers,
    )
    assert note.status_code == 201, note.text
    queued = client.post(f"/webhooks/{webhook['id']}/test", headers=alpha.headers)
    assert queued.status_code == 202, queued.text
    delivery = queued.json()["delivery"]

    with db.transaction() as session:
        alpha_user = add_user(session, alpha.id, f"a-user-{mark}@reseller.example")
        beta_user = add_user(session, beta.id, f"b-user-{uuid.uuid4().hex[:6]}@reseller.example")
    owner_session = session_of(base_url, alpha_user.user.email, alpha_user.password, "/portal")
    people = {
        Caller.B_KEY: Person(beta.headers),
        Caller.B_SESSION: session_of(base_url, beta_user.user.email, beta_user.password, "/portal"),
        Caller.STAFF_KEY: Person(staff.headers),
        Caller.STAFF_SESSION: session_of(base_url, staff.email, staff.password, "/console"),
        Caller.REVOKED: Person(alpha.headers),
        Caller.NOBODY: Person({}),
    }
    # A's key is revoked (a new one replaces it); the server sees it within the recheck period.
    with db.transaction() as session:
        new_key = revoke_keys(session, alpha.id, replace=True).key
    assert new_key is not None
    owner_key = Person({"Authorization": f"Bearer {new_key}"})
    time.sleep(0.1)

    def snapshot() -> dict[str, Any]:
        """What A has, as A sees it: must be the same after everyone else's calls."""
        seen = {}
        for path in (f"/tickets/{ticket['id']}", f"/webhooks/{webhook['id']}", "/webhooks", "/events", "/account"):
            answer = client.get(path, headers=owner_key.headers)
            assert answer.status_code == 200, (path, answer.text)
            seen[path] = answer.json()
        return seen

    secrets = [
        alpha.key, new_key, alpha.callback_secret, webhook["secret"], webhook["url"], alpha.name,
        alpha_user.user.email, alpha_user.password, owner_session.cookie or "", owner_session.csrf or "",
        order["id"], order["reference"], f"a-customer-{mark}@example.org", f"a-callback-{mark}",
        ticket["id"], ticket["description"], ticket["contact_email"], f"a-photo-{mark}",
        f"a-message-{mark}", f"a-internal-note-{mark}", str(webhook["id"]), str(delivery["id"]), str(stored["id"]),
    ]  # fmt: skip
    # Numbers (ticket, file and delivery ids, where they are integers) would match any page by chance: their
    # things are looked for by the texts beside them instead.
    secrets = [s for s in secrets if len(s) >= 8 and not s.isdigit()]
    return World(
        ids={
            "ticket_id": ticket["id"],
            "number": str(ticket["number"]),
            "file_id": str(stored["id"]),
            "webhook_id": str(webhook["id"]),
            "delivery_id": str(delivery["id"]),
            "order_id": order["id"],
            "path": "app.css",
        },
        secrets=secrets,
        people=people,
        owner_key=owner_key,
        owner_session=owner_session,
        order_number=order["supplier_order_number"],
        ticket_number=ticket["number"],
        staff_id=staff.id,
        snapshot=snapshot,
    )


# --- the route table --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    method: str
    template: str
    params: tuple[str, ...]
    guard: Guard | None  # None: no guard found and not listed as public


def _guard_of(route: APIRoute) -> Guard | None:
    found: set[Guard] = set()
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        if dependency.call in GUARD_OF:
            found.add(GUARD_OF[dependency.call])
        pending.extend(dependency.dependencies)
    if len(found) > 1:  # current_reseller and current_staff depend on current_actor
        found.discard(Guard.ANY_KEY)
    return found.pop() if len(found) == 1 else None


def endpoints(app: FastAPI) -> list[Endpoint]:
    table = []
    for context in iter_route_contexts(list(app.routes)):
        route = context.original_route
        template = context.path_format or ""
        if isinstance(route, Mount):
            table.append(Endpoint("GET", template, ("path",), Guard.PUBLIC if ("GET", template) in PUBLIC else None))
            continue
        params = tuple(getattr(route, "param_convertors", {}))
        for method in sorted(getattr(route, "methods", None) or ()):
            if method == "HEAD":
                continue  # answered as GET
            key = (method, template)
            if key in PUBLIC:
                guard: Guard | None = Guard.PUBLIC
            elif key in GUARDED_BY_HAND:
                guard = GUARDED_BY_HAND[key]
            else:
                guard = _guard_of(route) if isinstance(route, APIRoute) else None
            table.append(Endpoint(method, template, params, guard))
    # Signing out ends the caller's session: last, so that the sessions serve every other route first.
    return sorted(table, key=lambda e: (e.method, e.template) == ("POST", "/logout"))


# --- what each caller sends and must get -------------------------------------------------------------


def request_for(endpoint: Endpoint, world: World) -> dict[str, Any]:
    """The body (httpx keyword arguments) of a call: a valid one where one is known, so that a refusal is
    the tenancy check and not the validation."""
    a = world.ids
    product = {"id": 17, "amount": 1}
    bodies: dict[tuple[str, str], dict[str, Any]] = {
        ("POST", "/tickets"): {"json": ticket_body({"id": a["order_id"], "products": [product]}, reason="missing")},
        ("POST", "/tickets/validate"): {"json": ticket_body({"id": a["order_id"], "products": [product]})},
        ("POST", "/tickets/{ticket_id}/messages"): {"json": {"body": "b was here"}},
        ("POST", "/tickets/{ticket_id}/files"): {
            "files": [("files", ("b.png", png_bytes((20, 20)), "image/png"))],
            "data": {"product": "17"},
        },
        ("POST", "/order"): {"json": order_body()},
        ("POST", "/order/status"): {
            "json": {
                "orders": [
                    {"id": a["order_id"]},
                    {"supplier_order_number": world.order_number},
                    {"reference": f"a-reference-{a['order_id'].removeprefix('a-order-')}"},
                ]
            }
        },
        ("POST", "/webhooks"): {"json": {"url": f"https://{PUBLIC_ADDRESS}/b-hook", "events": ["ticket.created"]}},
        ("POST", "/staff/tickets/{number}/messages"): {"json": {"body": "x", "internal": True}},
        ("POST", "/staff/tickets/{number}/status"): {"json": {"status": "holding", "message": "x"}},
        ("POST", "/staff/tickets/{number}/assign"): {"json": {"assignee": world.staff_id}},
        ("POST", "/console/bulk"): {"data": {"tickets": str(world.ticket_number), "action": "status:holding"}},
        ("POST", "/console/tickets/{number}/messages"): {"data": {"body": "x", "internal": "1"}},
        ("POST", "/console/tickets/{number}/status"): {"data": {"status": "holding", "message": "x"}},
        ("POST", "/console/tickets/{number}/assign"): {"data": {"assignee": str(world.staff_id)}},
        ("POST", "/portal/tickets/{ticket_id}/reply"): {"data": {"body": "b was here"}},
        ("POST", "/portal/orders/{order_id}/report"): {"data": {"contact_email": "b@reseller.example"}},
        ("POST", "/login"): {"data": {"email": "nobody@example.org", "password": "not the password"}},
    }
    if (endpoint.method, endpoint.template) in bodies:
        return bodies[(endpoint.method, endpoint.template)]
    return {} if endpoint.method in SAFE or endpoint.template.startswith(("/console", "/portal")) else {"json": {}}


# What account B gets on its own routes (no path parameter of A's): its own data, or the documented refusal
# of what it sent of A's (A's order id in a ticket: order_not_found).
B_OWN = {
    ("POST", "/tickets"): 422,
    ("POST", "/tickets/validate"): 422,
    ("POST", "/order"): 201,
    ("POST", "/order/status"): 200,
    ("POST", "/webhooks"): 201,
}
LOGIN = "/login?next="
TEXT = ("application/json", "text/html")


@dataclass(frozen=True)
class Expected:
    status: int | None  # None: any answer below 500 (public routes)
    location: str | None = None  # the start of the redirect's Location
    leak_check: bool = True


def expected(endpoint: Endpoint, caller: Caller) -> Expected | None:
    """The documented answer (API.md: 401 without a working key, 403 for the wrong kind of key, 404 for
    another account's things; the pages: sign in first, 403 outside one's area, 404 as above). None: the
    caller is the one the route is for (staff on staff routes): not a tenancy question."""
    guard, unsafe, mine = endpoint.guard, endpoint.method not in SAFE, not endpoint.params
    api_key = caller in (Caller.B_KEY, Caller.STAFF_KEY, Caller.REVOKED)
    if guard is Guard.PUBLIC:
        return Expected(None)
    if guard in (Guard.RESELLER_API, Guard.ANY_KEY, Guard.STAFF_API):
        if caller in (Caller.NOBODY, Caller.REVOKED, Caller.B_SESSION, Caller.STAFF_SESSION):
            return Expected(401)  # a session cookie is no API key
        if caller is Caller.STAFF_KEY:
            if guard is Guard.RESELLER_API:
                return Expected(403)
            return None if unsafe else Expected(200, leak_check=False)
        # account B's key
        if guard is Guard.STAFF_API:
            return Expected(403)
        if not mine:
            return Expected(404)
        return Expected(B_OWN.get((endpoint.method, endpoint.template), 200))
    # the pages: an API key is no sign-in; forms without a session's CSRF token are refused first
    if caller is Caller.NOBODY or api_key:
        return Expected(403) if unsafe else Expected(303, location=LOGIN)
    if guard is Guard.STAFF_PAGE:
        if caller is Caller.B_SESSION:
            return Expected(403)
        return None if unsafe else Expected(200, leak_check=False)
    if caller is Caller.STAFF_SESSION:
        return Expected(303, location="/console")
    return Expected(200 if mine else 404)


def leaks(answer: httpx.Response, sent: str, secrets: list[str]) -> list[str]:
    """A's values in the answer (body or headers) that the caller did not send itself."""
    shown = answer.text + "\n" + "\n".join(f"{k}: {v}" for k, v in answer.headers.items())
    return [s for s in secrets if s in shown and s not in sent]


def call(client: httpx.Client, endpoint: Endpoint, world: World, person: Person) -> tuple[httpx.Response, str]:
    path = endpoint.template
    for name in endpoint.params:
        assert name in world.ids, f"{endpoint.template}: no value of account A for {{{name}}}: add it to World.ids"
        path = path.replace("{" + name + "}", world.ids[name])
    extra = request_for(endpoint, world)
    client.cookies.clear()  # only what the person sends: no cookie set by an earlier answer
    answer = client.request(endpoint.method, path, headers=person.request_headers(), **extra)
    sent = path + repr(extra) + repr(person.request_headers())
    return answer, sent


def test_leaks_finds_what_was_not_sent() -> None:
    answer = httpx.Response(200, text='{"id": "a-ticket-1", "description": "a-description-1"}')
    secrets = ["a-ticket-1", "a-description-1", "a-other-1"]
    assert leaks(answer, "/tickets/a-ticket-1", secrets) == ["a-description-1"]
    assert leaks(answer, "", secrets) == ["a-ticket-1", "a-description-1"]


class TestEveryRoute:
    def test_no_route_shows_another_accounts_data(self, app: FastAPI, server: ThreadedServer, db: Database) -> None:
        table = endpoints(app)
        unguarded = [f"{e.method} {e.template}" for e in table if e.guard is None]
        assert not unguarded, f"routes with no guard, not listed in PUBLIC with a reason: {unguarded}"
        for prefix, guard in PREFIX_GUARDS.items():
            wrong = [e for e in table if e.template.startswith(prefix) and e.guard is not guard]
            assert not wrong, f"{prefix} routes must be guarded by {guard.value}: {wrong}"
        assert len(table) >= 55  # the whole table, not a part of it

        with httpx.Client(base_url=server.url, timeout=30) as client:
            world = build_world(client, db, server.url)
            before = world.snapshot()
            check_lists(client, world)  # while the sessions live: the walk signs them out at its end
            faults: list[str] = []
            walked = 0
            for endpoint in table:
                for caller, person in world.people.items():
                    want = expected(endpoint, caller)
                    if want is None:
                        continue
                    answer, sent = call(client, endpoint, world, person)
                    walked += 1
                    where = f"{endpoint.method} {endpoint.template} as {caller.value}"
                    if want.status is None:
                        if answer.status_code >= 500:
                            faults.append(f"{where}: {answer.status_code}")
                    elif answer.status_code != want.status:
                        faults.append(f"{where}: {answer.status_code}, not {want.status}: {answer.text[:200]}")
                    if want.location is not None and not answer.headers.get("location", "").startswith(want.location):
                        faults.append(f"{where}: sent to {answer.headers.get('location')!r}, not {want.location}")
                    if want.leak_check and (shown := leaks(answer, sent, world.secrets)):
                        faults.append(f"{where}: the answer carries account A's {shown}")
                if endpoint.method == "GET" and endpoint.params and endpoint.guard is not Guard.PUBLIC:
                    # The owner gets the thing: the path parameters name real things, so the 404s above mean
                    # "not yours", not "no such thing".
                    owner = {
                        Guard.RESELLER_API: world.owner_key,
                        Guard.STAFF_API: world.people[Caller.STAFF_KEY],
                        Guard.RESELLER_PAGE: world.owner_session,
                        Guard.STAFF_PAGE: world.people[Caller.STAFF_SESSION],
                    }[endpoint.guard or Guard.PUBLIC]
                    answer, _ = call(client, endpoint, world, owner)
                    if answer.status_code != 200:
                        faults.append(f"{endpoint.method} {endpoint.template} as its owner: {answer.status_code}")
                    elif answer.headers["content-type"].startswith(TEXT) and not leaks(answer, "", world.secrets):
                        # The owner's page shows A's things: their absence from the others' answers means
                        # something.
                        faults.append(f"{endpoint.method} {endpoint.template} as its owner shows none of A's")
            assert not faults, "\n".join(faults)
            assert walked > 250
            # Nothing anyone else sent changed A's things.
            assert world.snapshot() == before

            # A's order id is free for B (per account): a 409 would tell B that A has such an order.
            taken = client.post("/order", json=order_body(id=world.ids["order_id"]), **_as(world, Caller.B_KEY))
            assert taken.status_code == 201, taken.text
            assert not leaks(taken, world.ids["order_id"], world.secrets)


def check_lists(client: httpx.Client, world: World) -> None:
    """B's lists, filtered by what B may have learnt of A's: B's own rows only (none of A's)."""
    order_id = world.ids["order_id"]
    for caller, path, params in (
        (Caller.B_KEY, "/tickets", {"order_id": order_id}),
        (Caller.B_KEY, "/events", {}),
        (Caller.B_SESSION, "/portal/orders", {"q": order_id}),
        (Caller.B_SESSION, "/portal/orders", {"q": str(world.order_number)}),
        (Caller.B_SESSION, "/portal/tickets", {"order_id": order_id}),
    ):
        client.cookies.clear()
        listed = client.get(path, params=params, **_as(world, caller))
        assert listed.status_code == 200, (path, params, listed.text)
        assert not leaks(listed, repr(params), world.secrets), (path, params)


def _as(world: World, caller: Caller) -> dict[str, Any]:
    return {"headers": world.people[caller].request_headers()}
