"""The Feed as a reader uses it, in Chromium: add a source served by a local feed server, see
its stories, bookmark, rate, search, see why a story scored, share, use the keyboard, refuse a
wrong OPML file, build a digest now and find it in the history and in the outbox; on desktop
and on a 375×812 phone. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from tests.fakes.feeds import FeedServer
from tests.feed.support import STORIES, rss

PASSWORD = "feeds are people too"


@pytest.fixture(scope="module")
def feed_server():
    with FeedServer() as server:
        server.feed("/news.xml", rss(title="Example News"))
        yield server


def sign_up(page, base: str) -> str:
    email = f"reader-{uuid.uuid4().hex[:6]}@example.com"
    page.goto(f"{base}/signup")
    page.fill("#f-name", "Rita Reader")
    page.fill("#f-email", email)
    page.fill("#f-password", PASSWORD)
    page.fill("#f-confirm", PASSWORD)
    page.click("#signup-submit")
    page.wait_for_url("**/feed**")
    return email


def card(page, title: str):
    return page.locator("[data-story]").filter(has=page.get_by_role("link", name=title, exact=True))


def test_a_reader_follows_a_feed_reads_rates_searches_and_gets_a_digest(app_server, browser, artifacts, feed_server):
    base = app_server["base"]
    log_start = len(app_server["log"].read_text())
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    email = sign_up(page, base)

    # First use: an honest empty state pointing at sources.
    expect(page.get_by_role("heading", name="Your feed has no sources yet")).to_be_visible()
    page.wait_for_load_state("networkidle")
    page.get_by_role("link", name="Add a source").click()
    page.wait_for_url("**/feed/sources**")
    expect(page.get_by_text("Suggested sources")).to_be_visible()

    # A wrong address explains itself; the right one is followed and fetched at once.
    page.fill("#f-url", "javascript:alert(1)")
    page.click("#add-source")
    expect(page.get_by_role("alert")).to_contain_text("http:// or https://")
    page.fill("#f-url", feed_server.url("/news.xml"))
    page.fill("#f-category", "News")
    page.click("#add-source")
    expect(page.locator("#source-list")).to_contain_text("Example News")
    expect(page.locator("#source-list")).to_contain_text("5 unread of 5")

    # A picture is not an OPML file.
    page.locator("#opml-upload input[type=file]").set_input_files(
        files=[{"name": "subscriptions.opml", "mimeType": "text/x-opml", "buffer": b"\x89PNG\r\n\x1a\n" + b"\0" * 64}])
    expect(page.get_by_text("This file is a PNG image, not an OPML file.")).to_be_visible()
    page.screenshot(path=str(artifacts / "desktop-feed-sources.png"), full_page=True)

    # The stories, newest first.
    page.get_by_role("navigation", name="Feed sections").get_by_role("link", name="Stories").click()
    page.wait_for_url("**/feed")
    for title, _ in STORIES:
        expect(page.get_by_role("link", name=title, exact=True)).to_be_visible()
    expect(page.locator("#feed-counts")).to_have_text("5 stories · 5 unread")

    # Bookmark and rate a story; the page says so and the buttons keep their labels.
    rust = card(page, STORIES[0][0])
    rust.get_by_role("button", name="Bookmark").click()
    expect(rust.get_by_role("button", name="Bookmarked")).to_be_visible()
    rust.get_by_role("button", name="Rate 4 of 5").click()
    expect(rust.get_by_role("button", name="Rate 4 of 5")).to_have_attribute("aria-pressed", "true")
    expect(rust.get_by_role("button", name="Rate 5 of 5")).to_have_attribute("aria-pressed", "false")

    # Why did it score like that?
    card(page, STORIES[1][0]).get_by_role("button", name="Why this story scored").click()
    expect(page.get_by_role("dialog")).to_contain_text("Why it scored")
    expect(page.get_by_role("dialog")).to_contain_text("Recency")
    page.screenshot(path=str(artifacts / "desktop-feed-score.png"))
    page.keyboard.press("Escape")

    # Share: a caption with the link, from the offline provider (and it says so).
    card(page, STORIES[2][0]).get_by_role("button", name="Share").click()
    expect(page.get_by_role("dialog")).to_contain_text("Built-in offline summary")
    assert "https://news.example/2" in page.locator("#f-share-text").input_value()
    page.get_by_role("button", name="Close").click()

    # The keyboard: j moves down the stories, m marks the current one read, b bookmarks it.
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("j")
    page.keyboard.press("j")
    second = page.locator("[data-story]").nth(1)
    expect(second).to_be_focused()
    expect(second).to_have_attribute("data-read", "0")
    page.keyboard.press("m")
    expect(second).to_have_attribute("data-read", "1")
    page.keyboard.press("b")
    expect(second.get_by_role("button", name="Bookmarked")).to_be_visible()
    page.keyboard.press("b")
    expect(second.get_by_role("button", name="Bookmark", exact=True)).to_be_visible()

    # Bookmarked only, then a search.
    page.get_by_label("Bookmarked").click()
    expect(page.locator("[data-story]")).to_have_count(1)
    page.get_by_label("Bookmarked").click()
    expect(page.locator("[data-story]")).to_have_count(5)
    page.fill("#f-q", '"bike lanes"')
    page.press("#f-q", "Enter")
    expect(page.locator("[data-story]")).to_have_count(1)
    expect(page.locator("[data-story]").first).to_contain_text("City council approves new bike lanes")
    page.fill("#f-q", "'; DROP TABLE feed_items; --")
    page.press("#f-q", "Enter")
    expect(page.locator("#feed-empty")).to_contain_text("No stories match")
    page.get_by_role("button", name="Clear filters").click()
    expect(page.locator("[data-story]")).to_have_count(5)
    expect(page.locator("#f-q")).to_have_value("")
    page.screenshot(path=str(artifacts / "desktop-feed.png"), full_page=True)

    # Build a digest now; it appears in the history and in the outbox.
    page.get_by_role("navigation", name="Feed sections").get_by_role("link", name="Digests").click()
    page.wait_for_url("**/feed/digests")
    page.click("#build-digest")
    digest = page.locator("[data-digest]").first
    expect(digest).to_contain_text("delivered", timeout=30_000)
    expect(digest).to_contain_text("Written by: Built-in offline summary")
    expect(digest).to_contain_text("stories")
    expect(digest.get_by_role("img", name="Title card of this digest")).to_be_visible()
    page.screenshot(path=str(artifacts / "desktop-feed-digests.png"), full_page=True)

    assert "Backend Exception" not in app_server["log"].read_text()[log_start:]
    page.goto(f"{base}/settings")
    outbox = page.locator("#outbox-list")
    expect(outbox).to_contain_text("Your digest:")
    expect(outbox).to_contain_text(email)
    ctx.close()


def test_the_feed_pages_fit_a_phone(app_server, browser, artifacts, feed_server):
    base = app_server["base"]
    ctx = browser.new_context(viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    sign_up(page, base)
    page.goto(f"{base}/feed/sources")
    page.fill("#f-url", feed_server.url("/news.xml"))
    page.click("#add-source")
    expect(page.locator("#source-list")).to_contain_text("Example News")
    for path, name in [("/feed/sources", "sources"), ("/feed", "stories"), ("/feed/digests", "digests")]:
        page.goto(f"{base}{path}")
        expect(page.get_by_role("navigation", name="Feed sections")).to_be_visible()
        if path == "/feed":
            expect(page.locator("[data-story]")).to_have_count(5)
            expect(page.locator("[data-story]").first).to_have_attribute("data-read", "0")
            page.wait_for_timeout(500)  # the scroll watcher is installed on load
            page.mouse.wheel(0, 3000)  # scrolled past: read (the default "mark read when scrolled past")
            expect(page.locator("[data-story]").first).to_have_attribute("data-read", "1")
            page.mouse.wheel(0, -5000)
        page.wait_for_timeout(300)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, path
        page.screenshot(path=str(artifacts / f"phone-feed-{name}.png"), full_page=True)
    ctx.close()
