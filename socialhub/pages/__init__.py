"""One module per route; importing them registers the pages."""

from socialhub.pages import (  # noqa: F401
    accounts,
    analytics,
    auth,
    chat,
    digests,
    feed,
    feed_sources,
    inbox,
    index,
    remix,
    schedule,
    schedule_compose,
    settings,
)
