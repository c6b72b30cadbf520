"""Schedule: compose once, adapt per platform, calendar, approvals, and a publisher that posts
on time to every connected account, never twice.

Other packages may call: `posts.create_post` (Feed's Share and digest posts), `timing.publish_now`,
`posts.get_post`. Importing the package registers which uploads posts use (`posts.media_in_use`), what happens to posts when an account is
disconnected, needs reconnecting or is reconnected (`targets.py`), and the `hub` adapter (`hub/adapter.py`).
"""

# Registers the `hub` adapter with channels, and what happens to posts when an account changes.
from socialhub.schedule import posts, targets  # noqa: F401
from socialhub.schedule.hub import adapter  # noqa: F401
