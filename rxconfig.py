"""Reflex configuration. Only REFLEX_-prefixed environment variables override these fields."""

import os

import reflex as rx

_port = int(os.environ.get("PORT", "3000"))

config = rx.Config(
    app_name="socialhub",
    frontend_port=_port,
    backend_port=_port,
    api_url=os.environ.get("PUBLIC_URL", f"http://localhost:{_port}"),
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(appearance="inherit", accent_color="iris", gray_color="slate", radius="large")
        )
    ],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
