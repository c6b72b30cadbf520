"""Schedule: compose once, adapt per platform, calendar, approvals, and a publisher that posts
on time to every connected account, never twice.

Other packages may call: `posts.create_post` (Feed's Share and digest posts), `timing.publish_now`,
`reading.get_post`. Importing the package registers which uploads posts use
(`posts.media_in_use`), what happens to posts when an account is disconnected, needs
reconnecting or is reconnected (`targets.py`), and the `hub` adapter (`hub/adapter.py`).

Modules: `posts` (writing posts and who may change them), `reading` (the views of posts),
`content` (per-platform text, validation, previews), `timing` (schedule, queue, recurrence,
missed), `lifecycle`, `approvals`, `status` (roll-up, activity, alerts), `targets`, `queue`,
`times`, `views`, `config`, `jobs`, `publisher/` (the publishing engine), `hub/` (SocialHub's
own network), `state/` and `pages/`.
"""

# Registers the `hub` adapter with channels, and what happens to posts when an account changes.
from socialhub.schedule import posts, targets  # noqa: F401
from socialhub.schedule.hub import adapter  # noqa: F401
