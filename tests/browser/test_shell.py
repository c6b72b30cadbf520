"""The app as a person uses it, in Chromium: sign up, sign out, sign in, every page on desktop
and phone, a notification sent by another process arriving live, hostile input shown inert,
and the PWA passing Chromium's installability checks. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import subprocess
import sys
import uuid

from playwright.sync_api import expect

from socialhub.core.config import ROOT

PAGES = [("Feed", "/feed"), ("Remix", "/remix"), ("Chat", "/chat"), ("Schedule", "/schedule"),
         ("Analytics", "/analytics"), ("Inbox", "/inbox"), ("Settings", "/settings")]
PASSWORD = "browsers are people too"
HOSTILE_NAME = "Eve <img src=x onerror=window.__pwned=1> '; DROP TABLE users; --"


def sign_in(page, base, email, password=PASSWORD):
    page.goto(f"{base}/signin")
    page.fill("#f-email", email)
    page.fill("#f-password", password)
    page.click("#signin-submit")
    page.wait_for_url("**/feed**")


def test_sign_up_sign_out_sign_in_and_every_page_on_desktop(app_server, browser, artifacts):
    base = app_server["base"]
    email = f"eve-{uuid.uuid4().hex[:6]}@example.com"
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    page = ctx.new_page()

    # A protected page without a session lands on sign-in, remembering where it wanted to go.
    page.goto(f"{base}/settings")
    page.wait_for_url("**/signin**next=/settings**")

    page.goto(f"{base}/signup")
    page.fill("#f-name", HOSTILE_NAME)
    page.fill("#f-email", email)
    page.fill("#f-password", "short")
    page.fill("#f-confirm", "short")
    page.click("#signup-submit")
    expect(page.get_by_role("alert")).to_contain_text("at least 10 characters")
    page.fill("#f-password", PASSWORD)
    page.fill("#f-confirm", PASSWORD)
    page.click("#signup-submit")
    page.wait_for_url("**/feed**")
    expect(page.get_by_role("heading", name="Your feed has no sources yet")).to_be_visible()

    # The session cookie is HttpOnly: page scripts cannot read it.
    cookies = {c["name"]: c for c in ctx.cookies()}
    assert cookies["sh_session"]["httpOnly"] and cookies["sh_session"]["sameSite"] == "Lax"
    assert "sh_session" not in page.evaluate("document.cookie")

    for label, path in PAGES:
        page.get_by_role("navigation", name="Main").get_by_role("link", name=label).click()
        page.wait_for_url(f"**{path}**")
        expect(page.get_by_role("heading", level=1, name=label)).to_be_visible()
        page.wait_for_timeout(300)
        page.screenshot(path=str(artifacts / f"desktop{path.replace('/', '-')}.png"), full_page=True)

    # Hostile input is stored and shown as text, never run.
    expect(page.locator("#f-name")).to_have_value(HOSTILE_NAME)
    page.click("#user-menu")
    expect(page.get_by_text(HOSTILE_NAME).first).to_be_visible()
    assert page.evaluate("window.__pwned") is None

    # Sign out from the open user menu; then the protected pages are closed again.
    page.click("#sign-out")
    page.wait_for_url("**/signin**")
    page.goto(f"{base}/feed")
    page.wait_for_url("**/signin**")

    page.fill("#f-email", email)
    page.fill("#f-password", "wrong password!")
    page.click("#signin-submit")
    expect(page.get_by_role("alert")).to_contain_text("Wrong e-mail or password")
    page.fill("#f-password", PASSWORD)
    page.click("#signin-submit")
    page.wait_for_url("**/feed**")
    ctx.close()


def test_notification_from_another_process_arrives_live(app_server, browser, artifacts):
    base = app_server["base"]
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    page = ctx.new_page()
    sign_in(page, base, "demo@socialhub.local", app_server["demo_password"])
    page.wait_for_timeout(1000)  # the page has registered for live updates
    before = page.locator("#bell-count").inner_text() if page.locator("#bell-count").count() else "0"

    title = f"Live hello {uuid.uuid4().hex[:6]}"
    subprocess.run([sys.executable, "-m", "socialhub.cli", "notify", "--email", "demo@socialhub.local",
                    "--title", title], cwd=ROOT, env=app_server["env"], check=True, timeout=60)
    # No reload: the count changes and the new notification is in the bell within a second or two.
    expect(page.locator("#bell-count")).to_have_text(str(int(before) + 1), timeout=3000)
    page.click("#bell-button")
    expect(page.locator("#bell-list")).to_contain_text(title)
    page.screenshot(path=str(artifacts / "desktop-bell-live.png"))
    page.get_by_role("button", name="Mark all read").click()
    expect(page.locator("#bell-count")).to_have_count(0)
    ctx.close()


def test_every_page_on_a_phone(app_server, browser, artifacts):
    base = app_server["base"]
    ctx = browser.new_context(viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True,
                              color_scheme="dark")  # the phone run also covers the dark theme
    page = ctx.new_page()
    sign_in(page, base, "demo@socialhub.local", app_server["demo_password"])
    bottom = page.locator("nav.sh-bottom-nav")
    expect(bottom).to_be_visible()
    expect(page.locator("nav.sh-sidebar")).to_be_hidden()
    for label, path in PAGES:
        bottom.get_by_role("link", name=label).click()
        page.wait_for_url(f"**{path}**")
        expect(page.get_by_role("heading", level=1, name=label).last).to_be_visible()
        page.wait_for_timeout(300)
        # Nothing overflows sideways on a 375 px screen.
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        page.screenshot(path=str(artifacts / f"phone{path.replace('/', '-')}.png"), full_page=True)
    ctx.close()


def test_pwa_is_installable(app_server, persistent_context):
    base = app_server["base"]
    ctx = persistent_context
    page = ctx.new_page()
    page.goto(f"{base}/signin")
    assert page.evaluate("navigator.serviceWorker.ready.then(r => r.active.scriptURL)").endswith("/sw.js")
    cdp = ctx.new_cdp_session(page)
    manifest = cdp.send("Page.getAppManifest")
    assert manifest.get("errors") == [], manifest.get("errors")
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert errors == [], errors
