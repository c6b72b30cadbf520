"""Reflex configuration. Only REFLEX_-prefixed environment variables override these fields."""

import os

import reflex as rx

_port = int(os.environ.get("PORT", "3000"))
_public_url = os.environ.get("PUBLIC_URL", f"http://localhost:{_port}").strip().rstrip("/")
# The origin browsers send (scheme://host[:port]); the websocket and the API accept only it.
_public_origin = "/".join(_public_url.split("/")[:3]).lower()

config = rx.Config(
    app_name="socialhub",
    frontend_port=_port,
    backend_port=_port,
    api_url=_public_url,
    cors_allowed_origins=[_public_origin],
    # Reverse proxies in front of the app: X-Forwarded-For's entry that many from the end is the
    # client's address (sign-in and sign-up limits per IP); 0 ignores the header.
    trusted_proxy_hops=int(os.environ.get("TRUSTED_PROXY_HOPS", "0") or "0"),
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(appearance="inherit", accent_color="iris", gray_color="slate", radius="large")
        )
    ],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
