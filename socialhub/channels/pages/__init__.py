"""Channels' pages: Settings → Accounts. Importing this package registers them."""

from socialhub.channels.pages import accounts  # noqa: F401
