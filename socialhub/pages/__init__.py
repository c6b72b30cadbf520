"""One module per route group; importing them registers the pages."""

from socialhub.pages import auth, sections, settings  # noqa: F401
