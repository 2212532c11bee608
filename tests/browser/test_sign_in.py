"""Signing in and out in a real browser, and what every page must pass (axe, 390 px, no CSP error)."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from .conftest import Site, Watched, check_page, csp_errors, sign_in


class TestSignIn:
    def test_login_page(self, watched: Watched, site: Site) -> None:
        page = watched.page
        page.goto("/login")
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        expect(page.get_by_label("Email")).to_be_visible()
        expect(page.get_by_label("Password")).to_have_attribute("type", "password")
        check_page(page, "login")
        assert csp_errors(watched) == []

    def test_staff_land_in_the_console(self, watched: Watched, site: Site) -> None:
        page = watched.page
        sign_in(page, site.staff_email, site.staff_password)
        expect(page).to_have_url(f"{site.url}/console")
        expect(page.get_by_role("heading", name="Work queue")).to_be_visible()
        expect(page.get_by_text("Demo Agent").first).to_be_visible()
        check_page(page, "console")
        assert csp_errors(watched) == []

    def test_reseller_user_lands_in_the_portal(self, watched: Watched, site: Site) -> None:
        page = watched.page
        sign_in(page, site.user_email, site.user_password)
        expect(page).to_have_url(f"{site.url}/portal")
        expect(page.get_by_role("heading", name="Demo Reseller")).to_be_visible()
        # The home shows the five latest orders: the demo's first one may be older than what other tests filed on
        # this shared server, so it is looked for behind "All orders".
        expect(page.get_by_role("heading", name="Latest orders")).to_be_visible()
        check_page(page, "portal")
        page.get_by_role("link", name="All orders", exact=True).click()
        expect(page).to_have_url(f"{site.url}/portal/orders")
        expect(page.get_by_text("demo-order-1001").first).to_be_visible()
        assert csp_errors(watched) == []

    def test_wrong_password_shows_the_message_next_to_the_form(self, page: Page, site: Site) -> None:
        email, _ = site.new_user()
        sign_in(page, email, "not the password")
        expect(page).to_have_url(f"{site.url}/login")
        expect(page.get_by_role("alert")).to_contain_text("e-mail address or password is not right")
        expect(page.get_by_label("Email")).to_have_value(email)
        expect(page.get_by_label("Password")).to_have_value("")
        check_page(page, "login-wrong-password")

    def test_empty_fields_show_an_error_summary(self, page: Page, site: Site) -> None:
        page.goto("/login")
        page.get_by_role("button", name="Sign in").click()
        summary = page.locator(".error-summary")
        expect(summary).to_be_visible()
        # app.js moves the focus to the summary, so that screen readers announce it.
        assert page.evaluate("document.activeElement.classList.contains('error-summary')")
        expect(summary.get_by_role("link", name="Enter your e-mail address.")).to_have_attribute("href", "#email")
        expect(page.locator("#email-error")).to_contain_text("Enter your e-mail address.")
        check_page(page, "login-empty")

    def test_repeated_failures_are_throttled(self, page: Page, site: Site) -> None:
        email, password = site.new_user()
        for _ in range(5):
            sign_in(page, email, "wrong")
            expect(page.get_by_role("alert")).to_contain_text("not right")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        with page.expect_response(f"{site.url}/login") as answer:
            page.get_by_role("button", name="Sign in").click()
        assert answer.value.status == 429
        assert int(answer.value.headers["retry-after"]) > 0
        expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-ins")
        check_page(page, "login-throttled")

    def test_sign_out_ends_the_session(self, page: Page, site: Site) -> None:
        sign_in(page, site.staff_email, site.staff_password)
        cookie = next(c for c in page.context.cookies() if c["name"] == "claimdesk_session")
        assert cookie["httpOnly"]
        assert cookie["sameSite"] == "Lax"
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(f"{site.url}/login")
        expect(page.get_by_text("You have signed out.")).to_be_visible()
        # The old cookie, put back, opens nothing: the session is gone from the database.
        page.context.add_cookies([{"name": "claimdesk_session", "value": cookie["value"], "url": site.url}])
        page.goto("/console")
        expect(page).to_have_url(f"{site.url}/login?next=/console")

    def test_not_signed_in_goes_to_login_and_back(self, page: Page, site: Site) -> None:
        page.goto("/portal")
        expect(page).to_have_url(f"{site.url}/login?next=/portal")
        page.get_by_label("Email").fill(site.user_email)
        page.get_by_label("Password").fill(site.user_password)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(f"{site.url}/portal")


class TestAreas:
    def test_reseller_user_on_the_console_gets_403(self, page: Page, site: Site) -> None:
        sign_in(page, site.other_user_email, site.other_user_password)
        response = page.goto("/console")
        assert response is not None
        assert response.status == 403
        expect(page.get_by_role("heading", name="You cannot open this page")).to_be_visible()
        check_page(page, "error-403")

    def test_staff_on_the_portal_are_sent_to_the_console(self, page: Page, site: Site) -> None:
        sign_in(page, site.staff_email, site.staff_password)
        page.goto("/portal")
        expect(page).to_have_url(f"{site.url}/console")

    def test_unknown_page_is_a_404_page(self, page: Page, site: Site) -> None:
        response = page.goto("/portal/nothing-here")
        assert response is not None
        assert response.status == 404
        expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
        check_page(page, "error-404")

    def test_unexpected_error_is_a_500_page(self, page: Page, site: Site) -> None:
        sign_in(page, site.user_email, site.user_password)
        response = page.goto("/portal/test-only-failure")
        assert response is not None
        assert response.status == 500
        expect(page.get_by_role("heading", name="Something went wrong")).to_be_visible()
        expect(page.get_by_text("a failure made by the test")).to_have_count(0)
        check_page(page, "error-500")

    def test_empty_portal(self, page: Page, site: Site) -> None:
        sign_in(page, site.other_user_email, site.other_user_password)
        expect(page.get_by_text("No tickets yet")).to_be_visible()
        expect(page.get_by_text("No orders yet")).to_be_visible()
        check_page(page, "portal-empty")


class TestKeyboard:
    def test_sign_in_with_the_keyboard_alone(self, page: Page, site: Site) -> None:
        page.goto("/login")
        page.keyboard.press("Tab")
        skip = page.get_by_role("link", name="Skip to main content")
        expect(skip).to_be_focused()
        expect(skip).to_be_in_viewport()
        page.keyboard.press("Tab")
        expect(page.get_by_label("Email")).to_be_focused()
        page.keyboard.type(site.user_email)
        page.keyboard.press("Tab")
        expect(page.get_by_label("Password")).to_be_focused()
        page.keyboard.type(site.user_password)
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{site.url}/portal")
        # Signed in, the skip link leads past the top bar to the content.
        page.keyboard.press("Tab")
        expect(skip).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.locator("main")).to_be_focused()


class TestTimes:
    def test_relative_with_the_exact_local_time_on_hover(self, browser: Browser, site: Site) -> None:
        context = browser.new_context(base_url=site.url, timezone_id="Asia/Tokyo", locale="en-US")
        try:
            page = context.new_page()
            sign_in(page, site.user_email, site.user_password)
            time = page.locator("time[data-relative]").first
            expect(time).to_have_attribute("title", re.compile(r"GMT\+9"))
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z", time.get_attribute("datetime") or "")
            expect(time).to_have_text(re.compile(r"^(now|just now|\d+ (min|hr)\. ago)$"))
        finally:
            context.close()
