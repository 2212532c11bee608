"""Sessions ending, the areas' guards, error pages (HTML on web paths, JSON on the API), the API docs."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from claimdesk.accounts.users import remove_user
from claimdesk.app import create_app
from claimdesk.config import Settings
from claimdesk.db import Database
from claimdesk.models import WebSession, utcnow
from claimdesk.testing.server import ThreadedServer
from claimdesk.web.security import script_hash
from tests.factories import new_reseller, new_staff, order_body

from .conftest import sign_in
from .test_sign_in import new_user


def _age_sessions(db: Database, **values: dt.datetime) -> None:
    with db.transaction() as session:
        session.execute(sa.update(WebSession).values(**values))


class TestSessionsEnd:
    def test_when_the_user_is_removed(self, client: httpx.Client, db: Database) -> None:
        reseller = new_reseller(db)
        email, password = new_user(db, reseller.id)
        sign_in(client, email, password)
        assert client.get("/portal").status_code == 200
        with db.transaction() as session:
            remove_user(session, reseller.id, email)
        assert client.get("/portal").headers["location"] == "/login?next=/portal"
        with db.session() as session:
            assert session.scalar(sa.select(sa.func.count()).select_from(WebSession)) == 0

    def test_after_being_idle(self, client: httpx.Client, db: Database, settings: Settings) -> None:
        staff = new_staff(db)
        sign_in(client, staff.email, staff.password)
        idle = dt.timedelta(minutes=settings.web_session_idle_minutes)
        _age_sessions(db, last_seen_at=utcnow() - idle + dt.timedelta(minutes=5))
        assert client.get("/console").status_code == 200  # and this request counts as activity
        with db.session() as session:
            seen = session.scalar(sa.select(WebSession.last_seen_at))
        assert seen is not None
        assert seen > utcnow() - dt.timedelta(minutes=1)
        _age_sessions(db, last_seen_at=utcnow() - idle - dt.timedelta(seconds=1))
        assert client.get("/console").status_code == 303

    def test_at_expiry(self, client: httpx.Client, db: Database) -> None:
        staff = new_staff(db)
        sign_in(client, staff.email, staff.password)
        _age_sessions(db, expires_at=utcnow() - dt.timedelta(seconds=1))
        assert client.get("/console").status_code == 303

    def test_a_made_up_cookie_opens_nothing(self, client: httpx.Client) -> None:
        client.cookies.set("claimdesk_session", "x" * 43)
        assert client.get("/console").status_code == 303
        client.cookies.set("claimdesk_session", "x" * 5000)
        assert client.get("/console").status_code == 303


class TestAreas:
    def test_anonymous_goes_to_login_with_next(self, client: httpx.Client) -> None:
        answer = client.get("/console?status=open")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login?next=/console%3Fstatus%3Dopen"

    def test_reseller_user_gets_403_on_the_console(self, client: httpx.Client, db: Database) -> None:
        email, password = new_user(db)
        sign_in(client, email, password)
        answer = client.get("/console")
        assert answer.status_code == 403
        assert answer.headers["content-type"].startswith("text/html")
        assert "You cannot open this page" in answer.text

    def test_staff_on_the_portal_go_to_the_console(self, client: httpx.Client, db: Database) -> None:
        staff = new_staff(db)
        sign_in(client, staff.email, staff.password)
        answer = client.get("/portal")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console"

    def test_htmx_requests_get_hx_redirect(self, client: httpx.Client) -> None:
        answer = client.get("/console", headers={"hx-request": "true"})
        assert answer.status_code == 204
        assert answer.headers["hx-redirect"] == "/login?next=/console"


class TestPortal:
    def test_shows_only_the_accounts_own_orders_and_tickets(self, client: httpx.Client, db: Database) -> None:
        mine, theirs = new_reseller(db, "Mine"), new_reseller(db, "Theirs")
        for reseller, order_id in ((mine, "my-order-1"), (theirs, "their-order-1")):
            assert client.post("/order", json=order_body(id=order_id), headers=reseller.headers).status_code == 201
            ticket = {
                "order_id": order_id, "id": f"{order_id}-t", "reason": "missing", "suggested_solution": "rework",
                "contact_email": "support@reseller.example", "products": [{"id": 17, "amount": 1}],
                "description": "<b>bold</b> & <script>alert(1)</script>",
            }  # fmt: skip
            assert client.post("/tickets", json=ticket, headers=reseller.headers).status_code == 201
        email, password = new_user(db, mine.id)
        sign_in(client, email, password)
        page = client.get("/portal").text
        assert "my-order-1" in page
        assert "my-order-1-t" in page
        assert "their-order-1" not in page
        # Client text is escaped.
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "<script>alert(1)</script>" not in page
        assert "&lt;b&gt;bold&lt;/b&gt; &amp;" in page

    def test_empty_account(self, client: httpx.Client, db: Database) -> None:
        email, password = new_user(db)
        sign_in(client, email, password)
        page = client.get("/portal").text
        assert "No tickets yet" in page
        assert "No orders yet" in page


class TestErrorPages:
    def test_unknown_web_path_is_a_404_page(self, client: httpx.Client) -> None:
        answer = client.get("/portal/nothing")
        assert answer.status_code == 404
        assert answer.headers["content-type"].startswith("text/html")
        assert "Page not found" in answer.text

    def test_browser_on_an_unknown_path_gets_the_page(self, client: httpx.Client) -> None:
        answer = client.get("/nothing", headers={"accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
        assert answer.status_code == 404
        assert "Page not found" in answer.text

    def test_api_keeps_its_json(self, client: httpx.Client) -> None:
        assert client.get("/nothing").json() == {"error": "Not found."}
        html = {"accept": "text/html"}
        answer = client.get("/tickets/abc", headers=html)
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/json"
        assert client.get("/staff/tickets/1", headers=html).headers["content-type"] == "application/json"

    def test_an_unexpected_error_is_a_500_page(self, db: Database, settings: Settings) -> None:
        app: FastAPI = create_app(settings, database=db)

        @app.get("/console/boom")
        async def boom() -> None:
            raise RuntimeError("boom")

        with ThreadedServer(app) as server, httpx.Client(base_url=server.url) as http:
            answer = http.get("/console/boom")
        assert answer.status_code == 500
        assert "Something went wrong" in answer.text
        assert "boom" not in answer.text
        assert answer.headers["content-security-policy"].startswith("default-src 'self'")


class TestApiDocs:
    def test_swagger_ui_from_the_app(self, client: httpx.Client) -> None:
        page = client.get("/docs")
        assert page.status_code == 200
        assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in page.text
        assert "cdn" not in page.text.lower()
        assert "https://" not in page.text
        # Its one inline script is allowed by its hash, and no other.
        inline = re.findall(r"<script>(.*?)</script>", page.text, flags=re.DOTALL)
        assert len(inline) == 1
        policy = page.headers["content-security-policy"]
        assert f"script-src 'self' {script_hash(inline[0])}" in policy
        assert "'unsafe-eval'" not in policy
        assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200

    def test_redoc_from_the_app(self, client: httpx.Client) -> None:
        page = client.get("/redoc")
        assert page.status_code == 200
        assert "/static/vendor/redoc/redoc.standalone.js" in page.text
        assert "https://" not in page.text
        asset = client.get("/static/vendor/redoc/redoc.standalone.js")
        assert asset.status_code == 200
        assert asset.headers["x-content-type-options"] == "nosniff"

    def test_docs_are_not_in_the_openapi_document(self, client: httpx.Client) -> None:
        paths = client.get("/openapi.json").json()["paths"]
        assert not [p for p in paths if p in ("/docs", "/redoc", "/login", "/logout", "/console", "/portal", "/")]
