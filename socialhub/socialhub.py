"""The Reflex app: theme, PWA head tags, HTTP routes, the real-time listener, and the pages."""

from __future__ import annotations

import reflex as rx

# Importing each package's pages registers them, once.
import socialhub.analytics.pages
import socialhub.channels.pages
import socialhub.chat.pages
import socialhub.feed.pages
import socialhub.identity.pages
import socialhub.inbox.pages
import socialhub.remix.pages
import socialhub.schedule.pages
import socialhub.ui.home  # noqa: F401
from socialhub.api import build_api
from socialhub.ui import realtime, routing

THEME_COLOR = "#5b5bd6"

HEAD = [
    rx.el.link(rel="manifest", href="/manifest.json"),
    rx.el.meta(name="theme-color", content=THEME_COLOR),
    rx.el.meta(name="mobile-web-app-capable", content="yes"),
    rx.el.meta(name="apple-mobile-web-app-capable", content="yes"),
    rx.el.meta(name="apple-mobile-web-app-title", content="SocialHub"),
    rx.el.meta(name="description", content="Feeds, remixes, chat, scheduling and analytics in one place."),
    rx.el.link(rel="apple-touch-icon", href="/icon-192.png"),
    rx.el.link(rel="icon", href="/icon-192.png", type="image/png"),
    rx.script(
        "if ('serviceWorker' in navigator) { navigator.serviceWorker.register('/sw.js')"
        ".catch(function (e) { console.warn('service worker not registered', e); }); }"
    ),
]

app = rx.App(
    stylesheets=["/socialhub.css", "/feed.css", "/remix.css", "/chat.css"],
    head_components=HEAD,
    api_transformer=build_api(),
)
routing.add_pages(app)
app.register_lifespan_task(realtime.listen)
