"""In a real browser: client text stays text, forms without their session's CSRF token change nothing, and
the API docs work from the app's own files under its CSP."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from .conftest import XSS, Site, Watched, check_page, csp_errors, sign_in


def _post_form(page: Page, action: str, fields: dict[str, str]) -> None:
    """Submit a form built in the page, as another site's page (or a stale tab) could."""
    page.evaluate(
        """([action, fields]) => {
            const form = document.createElement("form");
            form.method = "post";
            form.action = action;
            for (const [name, value] of Object.entries(fields)) {
                const input = document.createElement("input");
                input.type = "hidden"; input.name = name; input.value = value;
                form.appendChild(input);
            }
            document.body.appendChild(form);
            form.submit();
        }""",
        [action, fields],
    )
    page.wait_for_load_state("load")


class TestClientText:
    def test_script_and_img_onerror_show_as_text(self, watched: Watched, site: Site) -> None:
        page = watched.page
        sign_in(page, site.user_email, site.user_password)
        expect(page.get_by_text('<script>alert("x")</script>', exact=False)).to_be_visible()
        assert page.locator("main img[src='x']").count() == 0
        assert page.locator("main script").count() == 0
        page.wait_for_timeout(300)
        assert watched.dialogs == []
        assert XSS.replace('"', "") not in page.content().replace('"', "").replace("&quot;", "")


class TestCsrf:
    def test_form_without_token_changes_nothing(self, page: Page, site: Site) -> None:
        sign_in(page, site.user_email, site.user_password)
        _post_form(page, "/logout", {})
        expect(page.get_by_role("heading", name="This form could not be accepted")).to_be_visible()
        expect(page.get_by_text("Nothing was changed")).to_be_visible()
        check_page(page, "error-csrf")
        page.goto("/portal")  # still signed in: the sign-out was refused
        expect(page).to_have_url(f"{site.url}/portal")

    def test_form_with_another_sessions_token_changes_nothing(self, browser: Browser, page: Page, site: Site) -> None:
        other_context = browser.new_context(base_url=site.url)
        try:
            other = other_context.new_page()
            sign_in(other, site.other_user_email, site.other_user_password)
            their_token = other.locator("input[name=csrf_token]").first.input_value()
        finally:
            other_context.close()
        sign_in(page, site.user_email, site.user_password)
        own_token = page.locator("input[name=csrf_token]").first.input_value()
        assert their_token != own_token
        _post_form(page, "/logout", {"csrf_token": their_token})
        expect(page.get_by_role("heading", name="This form could not be accepted")).to_be_visible()
        page.goto("/portal")
        expect(page).to_have_url(f"{site.url}/portal")
        # And with its own token the same form works.
        _post_form(page, "/logout", {"csrf_token": own_token})
        expect(page).to_have_url(f"{site.url}/login")


class TestApiDocs:
    def test_swagger_ui_loads_from_the_app(self, watched: Watched, site: Site) -> None:
        page = watched.page
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto("/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("claimdesk")
        expect(page.locator(".opblock").first).to_be_visible()
        assert all(url.startswith(site.url) or url.startswith("data:") for url in requests), requests
        assert csp_errors(watched) == []

    def test_redoc_loads_from_the_app(self, watched: Watched, site: Site) -> None:
        page = watched.page
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto("/redoc")
        expect(page.get_by_role("heading", name="claimdesk").first).to_be_visible(timeout=20_000)
        # ReDoc's bundle shows its maker's logo from their CDN; the CSP refuses it (the browser never
        # sends the request) and ReDoc hides the image when it fails. Nothing else may come from outside.
        logo = "https://cdn.redoc.ly/redoc/logo-mini.svg"
        assert all(url.startswith((site.url, "data:", "blob:")) for url in requests if url != logo), requests
        assert [e for e in csp_errors(watched) if logo not in e] == []
