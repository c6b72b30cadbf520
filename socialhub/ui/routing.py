"""The one registry of pages: every page module marks its page with `@page(...)` (or the shell's
`@template(...)`, which uses it), and `socialhub/socialhub.py` adds them all to the app once.

Reflex's own `@rx.page` adds decorated pages each time the app compiles, and the production
backend compiles twice, which printed "Page … is being redefined" for every page; pages added
with `app.add_page` once are registered once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx

_PAGES: list[tuple[Callable[[], rx.Component], dict[str, Any]]] = []


def page(*, route: str, title: str, on_load: Any = None) -> Callable[[Callable[[], rx.Component]], Callable]:
    """Mark a function as the page at `route` (added to the app by `add_pages`)."""

    def decorator(render: Callable[[], rx.Component]) -> Callable[[], rx.Component]:
        if any(kwargs["route"] == route for _, kwargs in _PAGES):
            raise ValueError(f"Two pages claim the route {route}.")
        _PAGES.append((render, {"route": route, "title": title, "on_load": on_load}))
        return render

    return decorator


def add_pages(app: rx.App) -> None:
    """Add every registered page to the app, once."""
    for render, kwargs in _PAGES:
        app.add_page(render, **kwargs)
