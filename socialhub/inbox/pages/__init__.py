"""Inbox's pages. Importing this package registers them."""

from socialhub.inbox.pages import inbox  # noqa: F401
