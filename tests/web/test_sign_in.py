"""GET and POST /login, POST /logout."""

from __future__ import annotations

import hashlib

import httpx
import pytest
import sqlalchemy as sa

from claimdesk.accounts.users import add_user
from claimdesk.app import create_app
from claimdesk.config import Settings
from claimdesk.db import Database
from claimdesk.models import Staff, WebSession
from claimdesk.testing.server import ThreadedServer
from claimdesk.web.security import PAGE_POLICY
from tests.factories import new_reseller, new_staff

from .conftest import csrf_of, sign_in


def new_user(db: Database, account_id: int | None = None, email: str = "buyer@reseller.example") -> tuple[str, str]:
    if account_id is None:
        account_id = new_reseller(db).id
    with db.transaction() as session:
        made = add_user(session, account_id, email)
        return made.user.email, made.password


class TestLoginPage:
    def test_form_with_labels_and_a_sign_in_button(self, client: httpx.Client) -> None:
        page = client.get("/login")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert '<label class="field__label " for="email">Email</label>' in page.text
        assert '<label class="field__label " for="password">Password</label>' in page.text
        assert 'id="email" name="email"' in page.text
        assert 'type="password"' in page.text
        assert ">Sign in</button>" in page.text
        assert "claimdesk_csrf=" in page.headers["set-cookie"]

    def test_security_headers(self, client: httpx.Client) -> None:
        page = client.get("/login")
        assert page.headers["content-security-policy"] == PAGE_POLICY
        assert "'unsafe-inline'" not in PAGE_POLICY
        assert "frame-ancestors 'none'" in PAGE_POLICY
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["referrer-policy"] == "same-origin"
        assert page.headers["cache-control"] == "no-store"
        # No inline script or style anywhere on the page.
        assert "<script>" not in page.text
        assert "style=" not in page.text

    def test_api_answers_are_left_alone(self, client: httpx.Client) -> None:
        answer = client.get("/tickets")
        assert answer.status_code == 401
        assert answer.json() == {"error": "A valid API key is required (Authorization: Bearer <api_key>)."}
        assert "content-security-policy" not in answer.headers

    def test_root_sends_to_login(self, client: httpx.Client) -> None:
        answer = client.get("/")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login"


class TestSignIn:
    def test_staff_land_in_the_console(self, client: httpx.Client, db: Database) -> None:
        staff = new_staff(db, email="Lead@Supplier.example")
        answer = sign_in(client, "  LEAD@supplier.example ", staff.password)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console"
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith("claimdesk_session=")
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        assert "Secure" not in cookie
        console = client.get("/console")
        assert console.status_code == 200
        assert "lead@supplier.example" in console.text
        # Signed in, /login sends home.
        assert client.get("/login").headers["location"] == "/console"

    def test_reseller_user_lands_in_the_portal(self, client: httpx.Client, db: Database) -> None:
        reseller = new_reseller(db, "Print Partners")
        email, password = new_user(db, reseller.id)
        answer = sign_in(client, email, password)
        assert answer.headers["location"] == "/portal"
        portal = client.get("/portal")
        assert portal.status_code == 200
        assert "Print Partners" in portal.text

    def test_session_cookie_is_secure_by_default(self, db: Database, settings: Settings) -> None:
        staff = new_staff(db)
        secure = settings.model_copy(update={"secure_cookies": True})
        with ThreadedServer(create_app(secure, database=db)) as server, httpx.Client(base_url=server.url) as http:
            page = http.get("/login")
            assert "Secure" in page.headers["set-cookie"]
            token = csrf_of(page)
            # httpx holds Secure cookies back on http://, as a browser would: send the pre-login one by hand.
            answer = http.post(
                "/login",
                data={"email": staff.email, "password": staff.password, "csrf_token": token},
                headers={"cookie": f"claimdesk_csrf={token}"},
            )
            assert answer.status_code == 303
            assert "Secure" in answer.headers["set-cookie"]

    @pytest.mark.parametrize("password", ["wrong password", ""])
    def test_wrong_password_shows_the_form_again(self, client: httpx.Client, db: Database, password: str) -> None:
        staff = new_staff(db)
        answer = sign_in(client, staff.email, password)
        assert answer.status_code in (200, 422)
        assert "<form" in answer.text
        assert f'value="{staff.email}"' in answer.text
        assert "claimdesk_session" not in answer.headers.get("set-cookie", "")
        assert client.get("/console").status_code == 303

    def test_unknown_email_says_the_same_as_a_wrong_password(self, client: httpx.Client, db: Database) -> None:
        staff = new_staff(db)
        wrong = sign_in(client, staff.email, "nope")
        unknown = sign_in(client, "nobody@supplier.example", "nope")
        assert "e-mail address or password is not right" in wrong.text
        assert "e-mail address or password is not right" in unknown.text

    @pytest.mark.parametrize(
        ("next_url", "landing"),
        [
            ("/console?status=open", "/console?status=open"),
            ("/portal", "/console"),  # not a staff page: home instead
            ("//evil.example/console", "/console"),
            ("https://evil.example/console", "/console"),
            ("/\\evil.example", "/console"),
            ("javascript:alert(1)", "/console"),
        ],
    )
    def test_only_local_next_urls(self, client: httpx.Client, db: Database, next_url: str, landing: str) -> None:
        staff = new_staff(db)
        assert sign_in(client, staff.email, staff.password, next_url).headers["location"] == landing

    def test_scrypt_hash_still_works_and_is_replaced(self, client: httpx.Client, db: Database) -> None:
        staff = new_staff(db)
        salt = bytes(range(16))
        digest = hashlib.scrypt(b"old secret", salt=salt, n=2**14, r=8, p=1)
        with db.transaction() as session:
            session.execute(
                sa.update(Staff)
                .where(Staff.id == staff.id)
                .values(password_hash=f"scrypt$16384$8$1${salt.hex()}${digest.hex()}")
            )
        assert sign_in(client, staff.email, "old secret").headers["location"] == "/console"
        with db.session() as session:
            stored = session.scalar(sa.select(Staff.password_hash).where(Staff.id == staff.id))
        assert stored is not None
        assert stored.startswith("$argon2id$")


class TestCsrfOnLogin:
    def test_without_token_is_refused(self, client: httpx.Client, db: Database) -> None:
        staff = new_staff(db)
        client.get("/login")
        answer = client.post("/login", data={"email": staff.email, "password": staff.password})
        assert answer.status_code == 403
        assert answer.headers["content-type"].startswith("text/html")
        assert "Nothing was changed" in answer.text
        assert "claimdesk_session" not in answer.headers.get("set-cookie", "")

    @pytest.mark.parametrize(
        "headers", [{"origin": "https://evil.example"}, {"sec-fetch-site": "cross-site"}, {"origin": "null"}]
    )
    def test_from_another_site_is_refused(self, client: httpx.Client, db: Database, headers: dict[str, str]) -> None:
        staff = new_staff(db)
        token = csrf_of(client.get("/login"))
        answer = client.post(
            "/login", data={"email": staff.email, "password": staff.password, "csrf_token": token}, headers=headers
        )
        assert answer.status_code == 403

    def test_same_origin_headers_pass(self, client: httpx.Client, db: Database) -> None:
        staff = new_staff(db)
        token = csrf_of(client.get("/login"))
        host = client.base_url.netloc.decode()
        answer = client.post(
            "/login",
            data={"email": staff.email, "password": staff.password, "csrf_token": token},
            headers={"origin": f"http://{host}", "sec-fetch-site": "same-origin"},
        )
        assert answer.status_code == 303


class TestThrottle:
    def test_per_email(self, client: httpx.Client, db: Database) -> None:
        staff = new_staff(db)
        for _ in range(3):
            assert sign_in(client, staff.email, "wrong").status_code == 200
        blocked = sign_in(client, staff.email, staff.password)
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) > 0
        assert "Too many failed sign-ins" in blocked.text
        other = new_staff(db)
        assert sign_in(client, other.email, other.password).status_code == 303

    def test_per_address(self, client: httpx.Client, db: Database) -> None:
        for n in range(8):
            assert sign_in(client, f"guess{n}@supplier.example", "wrong").status_code == 200
        staff = new_staff(db)
        assert sign_in(client, staff.email, staff.password).status_code == 429

    def test_a_success_clears_the_emails_count(self, client: httpx.Client, db: Database) -> None:
        staff = new_staff(db)
        for _ in range(2):
            sign_in(client, staff.email, "wrong")
        assert sign_in(client, staff.email, staff.password).status_code == 303
        client.cookies.clear()
        for _ in range(2):
            assert sign_in(client, staff.email, "wrong").status_code == 200
        assert sign_in(client, staff.email, staff.password).status_code == 303


class TestSignOut:
    def test_ends_the_session_in_the_database(self, client: httpx.Client, db: Database) -> None:
        staff = new_staff(db)
        sign_in(client, staff.email, staff.password)
        token = client.cookies["claimdesk_session"]
        with db.session() as session:
            stored = session.scalars(sa.select(WebSession.token_hash)).all()
        assert stored == [hashlib.sha256(token.encode()).hexdigest()]  # only the hash is kept
        page = client.get("/console")
        answer = client.post("/logout", data={"csrf_token": csrf_of(page)})
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login"
        with db.session() as session:
            assert session.scalar(sa.select(sa.func.count()).select_from(WebSession)) == 0
        again = httpx.get(f"{client.base_url}/console", cookies={"claimdesk_session": token})
        assert again.status_code == 303
        assert again.headers["location"] == "/login?next=/console"

    def test_without_token_changes_nothing(self, client: httpx.Client, db: Database) -> None:
        staff = new_staff(db)
        sign_in(client, staff.email, staff.password)
        assert client.post("/logout", data={}).status_code == 403
        assert client.get("/console").status_code == 200

    def test_with_another_sessions_token_changes_nothing(
        self, client: httpx.Client, server: ThreadedServer, db: Database
    ) -> None:
        staff = new_staff(db)
        with httpx.Client(base_url=server.url) as other:
            sign_in(other, staff.email, staff.password)
            their_token = csrf_of(other.get("/console"))
        sign_in(client, staff.email, staff.password)
        assert client.post("/logout", data={"csrf_token": their_token}).status_code == 403
        assert client.get("/console").status_code == 200
        # The header form of the token (HTMX) is checked the same way.
        assert client.post("/logout", headers={"x-csrf-token": their_token}).status_code == 403
        own = csrf_of(client.get("/console"))
        assert client.post("/logout", headers={"x-csrf-token": own}).status_code == 303
