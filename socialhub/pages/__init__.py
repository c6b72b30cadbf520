"""One module per route; importing them registers the pages."""

from socialhub.pages import (  # noqa: F401
    analytics,
    auth,
    chat,
    feed,
    inbox,
    index,
    remix,
    schedule,
    settings,
)
