"""Browser tests: one real server and one Chromium (Debian's /usr/bin/chromium) for all of them.

Both are package-scoped, which is once per run (every browser test is in this package), and ends them when
the browser tests are done: Playwright's sync API keeps an asyncio loop running on the main thread while it
is open, which would break the later tests that call ``asyncio.run``.

The server is the app `claimdesk serve` runs, on a real socket in a thread, on a migrated SQLite file with
the demo data plus a second account. Every test gets a fresh browser context (no cookies).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

from claimdesk.accounts.service import create_account
from claimdesk.accounts.users import add_user
from claimdesk.app import create_app
from claimdesk.config import Settings
from claimdesk.db import Database
from claimdesk.demo import DEMO_USER_EMAIL, DEMO_USER_PASSWORD, seed
from claimdesk.migrate import upgrade
from claimdesk.testing.server import ThreadedServer
from tests.factories import order_body, ticket_body

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).with_name("artifacts")
# Chromium as root in a container: no sandbox, nothing that phones home.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
XSS = '<script>alert("x")</script><img src=x onerror="alert(1)">'
_counter = itertools.count(1)


@dataclass
class Site:
    url: str
    db: Database
    staff_email: str
    staff_password: str
    staff_key: str
    user_email: str
    user_password: str
    account_id: int
    reseller_key: str
    other_user_email: str
    other_user_password: str
    xss_ticket: dict[str, Any] = field(default_factory=dict)

    def new_user(self, account_id: int | None = None) -> tuple[str, str]:
        """A fresh portal user (its own throttle counters); returns (email, password)."""
        email = f"person{next(_counter)}@reseller.example"
        with self.db.transaction() as session:
            new = add_user(session, account_id or self.account_id, email)
        return email, new.password


@pytest.fixture(scope="package")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{folder / 'claimdesk.db'}"
    upgrade(url)
    settings = Settings(
        database_url=url,
        storage_dir=str(folder / "files"),
        rate_limit="100000/minute",
        secure_cookies=False,  # plain http://127.0.0.1
        signin_limit_per_email="5/15minutes",
        # Every test signs in from 127.0.0.1; the per-address limit has its own test in tests/web.
        signin_limit_per_address="100000/15minutes",
        # One server for the whole package, every page from 127.0.0.1: the page limit has its own test.
        web_rate_limit_per_address="100000/minute",
    )
    db = Database(url)
    with db.transaction() as session:
        creds = seed(session)
        other, _ = create_account(session, "Other Reseller")
        other_user = add_user(session, other.id, "someone@other-reseller.example")
    app = create_app(settings, database=db, worker=False)

    @app.get("/portal/test-only-failure", include_in_schema=False)
    async def failure() -> None:
        """A page that fails, to see the 500 page (only in this test server)."""
        raise RuntimeError("a failure made by the test")

    with ThreadedServer(app) as server:
        site = Site(
            url=server.url,
            db=db,
            staff_email=creds.staff_email,
            staff_password=creds.staff_password,
            staff_key=creds.staff_key,
            user_email=DEMO_USER_EMAIL,
            user_password=DEMO_USER_PASSWORD,
            account_id=creds.account_id,
            reseller_key=creds.reseller_key,
            other_user_email=other_user.user.email,
            other_user_password=other_user.password,
        )
        site.xss_ticket = _file_ticket(site, description=f"Torn banners {XSS}")
        yield site
    db.dispose()


def _file_ticket(site: Site, *, description: str) -> dict[str, Any]:
    body = {
        "order_id": "demo-order-1002",
        "id": f"web-test-{next(_counter)}",
        "description": description,
        "reason": "missing",
        "suggested_solution": "rework",
        "contact_email": "support@reseller.example",
        "products": [{"id": "poster-a2", "amount": 2}],
    }
    headers = {"Authorization": f"Bearer {site.reseller_key}"}
    response = httpx.post(f"{site.url}/tickets", json=body, headers=headers, timeout=30)
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()
    return ticket


def holding_ticket(site: Site, *, description: str, question: str) -> dict[str, Any]:
    """A new order of the demo account with a ``missing`` ticket on its first line, which staff asked
    ``question`` about (holding): the ticket as the staff API answers it."""
    reseller = {"Authorization": f"Bearer {site.reseller_key}"}
    order = httpx.post(f"{site.url}/order", json=order_body(), headers=reseller, timeout=30).json()["order"]
    body = ticket_body(order, reason="missing", description=description)
    body["products"] = [{"id": order["products"][0]["id"], "amount": 2}]
    filed = httpx.post(f"{site.url}/tickets", json=body, headers=reseller, timeout=30)
    assert filed.status_code == 201, filed.text
    asked = httpx.post(
        f"{site.url}/staff/tickets/{filed.json()['ticket']['number']}/status",
        json={"status": "holding", "message": question},
        headers={"Authorization": f"Bearer {site.staff_key}"},
        timeout=30,
    )
    assert asked.status_code == 200, asked.text
    ticket: dict[str, Any] = asked.json()
    return ticket


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test installs Debian's chromium package")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        yield launched
        launched.close()


@dataclass
class Watched:
    """A page, and what it showed that a test must not see: dialogs and CSP violations."""

    page: Page
    dialogs: list[str]
    console_errors: list[str]


@pytest.fixture
def watched(browser: Browser, site: Site) -> Iterator[Watched]:
    context = browser.new_context(base_url=site.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    dialogs: list[str] = []
    errors: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    try:
        yield (watched := Watched(page, dialogs, errors))
        # No page of any test may break the CSP or throw (ReDoc's logo, refused by the CSP, aside).
        assert [e for e in csp_errors(watched) if "cdn.redoc.ly" not in e] == []
    finally:
        context.close()


@pytest.fixture
def page(watched: Watched) -> Page:
    return watched.page


def sign_in(page: Page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


_axe = Axe()


def check_page(page: Page, name: str) -> None:
    """What every page must pass: axe finds nothing serious or critical, nothing scrolls sideways at 390 px,
    and a screenshot at 1280 px and 390 px for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(ARTIFACTS / f"{slug}-1280.png"), full_page=True)
    results = _axe.run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not bad, (
        json.dumps([{k: v[k] for k in ("id", "impact", "help")} for v in bad], indent=1)
        + "\n"
        + str([[n["html"] for n in v["nodes"]][:3] for v in bad])
    )
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(50)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{name}: the page is {width} px wide at 390 px"
    page.screenshot(path=str(ARTIFACTS / f"{slug}-390.png"), full_page=True)
    results = _axe.run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not bad, json.dumps([{k: v[k] for k in ("id", "impact", "help")} for v in bad], indent=1)
    page.set_viewport_size({"width": 1280, "height": 900})


def csp_errors(watched: Watched) -> list[str]:
    """CSP violations and script errors the page had (a refused 4xx answer is no such error)."""
    return [
        e for e in watched.console_errors if "Content Security Policy" in e or "Refused to" in e or "page error" in e
    ]
