"""Analytics' pages. Importing this package registers them."""

from socialhub.analytics.pages import analytics  # noqa: F401
