"""Remix's pages. Importing this package registers them."""

from socialhub.remix.pages import remix  # noqa: F401
