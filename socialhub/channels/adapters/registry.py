"""Which adapter serves which platform name.

The publisher looks adapters up here by the name stored on the platform account and never
branches on a platform itself: adding a platform means one module and one line in `ADAPTERS`.

`hub` (SocialHub's own timeline) is not listed here because it needs the database, which this
layer must not import. The services layer registers it at start-up with
`register_adapter("hub", HubAdapter)`.
"""

from __future__ import annotations

from typing import Any

from socialhub.channels.adapters.base import PlatformAdapter
from socialhub.channels.adapters.bluesky import BlueskyAdapter
from socialhub.channels.adapters.exceptions import NotSupported
from socialhub.channels.adapters.facebook import FacebookAdapter
from socialhub.channels.adapters.instagram import InstagramAdapter
from socialhub.channels.adapters.linkedin import LinkedInAdapter
from socialhub.channels.adapters.mastodon import MastodonAdapter
from socialhub.channels.adapters.threads import ThreadsAdapter
from socialhub.channels.adapters.x import XAdapter

ADAPTERS: dict[str, type[PlatformAdapter]] = {
    BlueskyAdapter.name: BlueskyAdapter,
    MastodonAdapter.name: MastodonAdapter,
    XAdapter.name: XAdapter,
    LinkedInAdapter.name: LinkedInAdapter,
    ThreadsAdapter.name: ThreadsAdapter,
    InstagramAdapter.name: InstagramAdapter,
    FacebookAdapter.name: FacebookAdapter,
    # "hub": registered by the services layer (it needs the database), see the module docstring.
}


def register_adapter(name: str, adapter: type[PlatformAdapter]) -> None:
    """Make `adapter` available as `name` (used for `hub`, and by tests)."""
    ADAPTERS[name] = adapter


def get_adapter(name: str, /, **options: Any) -> PlatformAdapter:
    """A new adapter for platform `name`; `options` go to its constructor (base_url, client, …)."""
    try:
        adapter = ADAPTERS[name]
    except KeyError:
        raise NotSupported(f"no adapter for platform {name!r}", platform=name) from None
    return adapter(**options)


def platform_names() -> list[str]:
    return sorted(ADAPTERS)
