"""Schedule in Chromium, against the real app and its real scheduler process: connect the hub
account, compose (hostile text, a picture and a refused file), schedule a post two minutes
ahead, drag it on the day view to a minute from now, and watch it turn "published" without a
reload. Then the same pages on a 375×812 phone. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import struct
import uuid
import zlib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

PASSWORD = "browsers are people too"
TZ = "America/New_York"  # not the server's zone: every time on the page is the user's
HOSTILE = "<img src=x onerror=window.__pwned=1> '; DROP TABLE posts; --"


def png(width: int = 64, height: int = 48) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes([91, 91, 214]) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def zone_of(moment: datetime) -> str:
    """The day view's 15-minute row that holds `moment`."""
    return f"{moment.date().isoformat()}T{moment.hour:02d}:{moment.minute // 15 * 15:02d}"


def wait_clear_of_midnight(page) -> None:
    """The drag happens within one day view: do not start in the last minutes of a day."""
    now = datetime.now(ZoneInfo(TZ))
    if now.hour == 23 and now.minute >= 54:
        page.wait_for_timeout(((60 - now.minute) * 60 - now.second + 5) * 1000)


def test_compose_schedule_drag_and_watch_it_publish_live(app_server, browser, artifacts):
    base = app_server["base"]
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id=TZ)
    page = ctx.new_page()
    wait_clear_of_midnight(page)

    # A new owner; the browser's time zone becomes theirs.
    page.goto(f"{base}/signup")
    expect(page.locator("#signup-form")).to_contain_text(TZ)  # the page shows the zone it detected
    page.fill("#f-name", "Sam Scheduler")
    page.fill("#f-email", f"sam-{uuid.uuid4().hex[:6]}@example.com")
    page.fill("#f-password", PASSWORD)
    page.fill("#f-confirm", PASSWORD)
    page.click("#signup-submit")
    page.wait_for_url("**/feed**")

    # Nothing scheduled yet: the page says so honestly and links to composing.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Schedule").click()
    page.wait_for_url("**/schedule**")
    expect(page.get_by_role("heading", name="Nothing scheduled yet")).to_be_visible()
    expect(page.get_by_role("link", name="Compose a post")).to_be_visible()

    # Settings → Accounts: connect the hub (SocialHub's own timeline).
    page.goto(f"{base}/settings")
    page.click("#manage-accounts")
    page.wait_for_url("**/settings/accounts**")
    page.click("#connect-hub")
    expect(page.locator("#account-list")).to_contain_text("SocialHub")
    expect(page.locator("#account-list [data-platform=hub]")).to_contain_text("connected")
    page.screenshot(path=str(artifacts / "desktop-settings-accounts.png"), full_page=True)

    # Compose: hostile text stays text; the counter counts; the draft saves itself.
    page.goto(f"{base}/schedule")
    page.get_by_role("link", name="Compose a post").first.click()
    page.wait_for_url("**/schedule/compose**")
    text = f"Live from the browser {uuid.uuid4().hex[:6]} {HOSTILE}"
    page.fill("#compose-text", text)
    expect(page.locator("#counters")).to_contain_text(f"{len(text)} / 5,000")
    expect(page.locator("#save-status")).to_contain_text("Saved", timeout=10_000)
    page.wait_for_url("**/schedule/compose?post=*")

    # Media: a real picture is attached with a thumbnail; an HTML page named .png is refused.
    page.set_input_files("#compose-media input[type=file]", files=[
        {"name": "../../etc/picture.png", "mimeType": "image/png", "buffer": png()},
        {"name": "cat.png", "mimeType": "image/png", "buffer": b"<html><script>window.__pwned=1</script>"},
    ])
    expect(page.locator("#upload-errors")).to_contain_text("cat.png: Only JPEG, PNG")
    expect(page.locator("#compose-media-list")).to_contain_text("picture.png")
    expect(page.locator("#compose-media-list img")).to_have_count(1)
    expect(page.locator("#previews")).to_contain_text("1 media")
    page.fill("#compose-media-list textarea", "A blue rectangle")
    page.locator("#compose-media-list textarea").blur()
    expect(page.get_by_text("Alt text saved.")).to_be_visible()

    # Schedule two minutes ahead, in the user's time zone.
    at = (datetime.now(ZoneInfo(TZ)) + timedelta(minutes=2)).replace(second=0, microsecond=0)
    page.fill("#compose-date", at.date().isoformat())
    page.fill("#compose-time", at.strftime("%H:%M"))
    expect(page.locator("#compose-tz")).to_have_value(TZ)
    page.screenshot(path=str(artifacts / "desktop-schedule-compose.png"), full_page=True)
    page.click("#compose-schedule")
    page.wait_for_url("**/schedule?date=**")

    # The day view: 15-minute rows; the post sits in its row, scheduled.
    page.get_by_role("radio", name="Day").click()
    grid = page.locator("#cal-scroll")
    chip = grid.locator("[data-post]")
    expect(chip).to_have_count(1)
    post_id = chip.get_attribute("data-post")
    expect(grid.locator(f"[data-zone='{zone_of(at)}'] [data-post='{post_id}']")).to_contain_text("scheduled")
    # The grid scrolls itself to the current time once drawn: drag only after that.
    page.wait_for_function("""() => {
        const g = document.getElementById('cal-scroll'), t = g && g.querySelector('.sh-slot-now');
        if (!g || !t) return false;
        const want = Math.min(Math.max(0, t.offsetTop - 80), g.scrollHeight - g.clientHeight);
        return Math.abs(g.scrollTop - want) < 2;
    }""")
    expect(chip).to_be_in_viewport()

    # Drag it to the row of a minute from now; fine-tune the time in the popover; move.
    target = (datetime.now(ZoneInfo(TZ)) + timedelta(minutes=1)).replace(second=0, microsecond=0)
    # A real pointer drag: press near the card's corner, travel in steps, release well to the
    # right in the target row (so the pointer moves even when that row is the post's own).
    row = grid.locator(f"[data-zone='{zone_of(target)}']")
    row.scroll_into_view_if_needed()
    source, dest = grid.locator(f"[data-post='{post_id}']").bounding_box(), row.bounding_box()
    page.mouse.move(source["x"] + 30, source["y"] + 10)
    page.mouse.down()
    page.mouse.move(source["x"] + 60, source["y"] + 14, steps=4)
    page.mouse.move(dest["x"] + 400, dest["y"] + 6, steps=12)
    page.mouse.up()
    popover = page.locator("#drop-popover")
    expect(popover).to_be_visible()
    expect(page.locator("#drop-date")).to_have_value(target.date().isoformat())
    page.screenshot(path=str(artifacts / "desktop-schedule-drop.png"))
    page.fill("#drop-time", target.strftime("%H:%M"))
    page.click("#drop-confirm")
    expect(popover).to_have_count(0)
    moved = grid.locator(f"[data-zone='{zone_of(target)}'] [data-post='{post_id}']")
    expect(moved).to_be_visible()
    expect(moved).to_contain_text(target.strftime("%H:%M"))

    # The scheduler publishes it; the page changes by itself (no reload: the marker survives).
    page.evaluate("window.__stillHere = 'yes'")
    try:
        expect(moved.locator(".sh-target-badge[data-status=published]")).to_be_visible(timeout=120_000)
    except AssertionError as exc:  # say what the page and the app were doing
        page.screenshot(path=str(artifacts / "desktop-schedule-not-published.png"), full_page=True)
        shown = grid.inner_text()[:1000]
        raise AssertionError(f"{exc}\n--- the grid shows:\n{shown}\n--- app log:\n"
                             f"{app_server['log'].read_text()[-3000:]}") from None
    expect(moved.locator(".sh-status")).to_have_text("published")
    assert page.evaluate("window.__stillHere") == "yes"
    page.screenshot(path=str(artifacts / "desktop-schedule-published.png"), full_page=True)

    # The post panel: per-account status, where it is, and the activity log.
    moved.locator("button").click()
    panel = page.locator("#post-panel")
    expect(panel.locator("#panel-status")).to_have_text("published")
    expect(panel.locator("#panel-text")).to_contain_text(HOSTILE)
    expect(panel.locator("#panel-targets")).to_contain_text("On the SocialHub timeline of @")
    expect(panel.locator("#panel-activity")).to_contain_text("Moved to")
    page.wait_for_timeout(400)  # the dialog's fade-in
    page.screenshot(path=str(artifacts / "desktop-schedule-panel.png"))
    page.keyboard.press("Escape")
    assert page.evaluate("window.__pwned") is None

    # Month and list views show it too.
    page.get_by_role("radio", name="Month").click()
    expect(page.locator(f"#cal-month [data-post='{post_id}']")).to_be_visible()
    page.screenshot(path=str(artifacts / "desktop-schedule-month.png"), full_page=True)
    page.get_by_role("radio", name="List").click()
    expect(page.locator(f"#post-list [data-post='{post_id}']")).to_contain_text("published")

    # The same account on a phone, in the dark theme: the calendar becomes an agenda.
    phone = browser.new_context(viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True,
                                color_scheme="dark", timezone_id=TZ, storage_state=ctx.storage_state())
    ctx.close()
    mobile = phone.new_page()
    for name, path, ready in [
        ("schedule", "/schedule", f"#cal-agenda [data-post='{post_id}']"),
        ("schedule-compose", "/schedule/compose", "#compose-text"),
        ("settings-accounts", "/settings/accounts", "#account-list"),
    ]:
        mobile.goto(f"{base}{path}")
        expect(mobile.locator(ready)).to_be_visible()
        if name == "schedule":
            expect(mobile.locator("#cal-scroll")).to_be_hidden()  # the time grid gives way to the agenda
        mobile.wait_for_timeout(300)
        assert mobile.evaluate("document.documentElement.scrollWidth") <= 375, name
        mobile.screenshot(path=str(artifacts / f"phone-{name}.png"), full_page=True)
    phone.close()
