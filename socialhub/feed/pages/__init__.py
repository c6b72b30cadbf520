"""Feed's pages: stories, sources, digests. Importing this package registers them."""

from socialhub.feed.pages import digests, sources, stories  # noqa: F401
