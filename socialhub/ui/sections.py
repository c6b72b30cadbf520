"""Sections other packages add to a page they do not own, such as the Settings page.

Channels adds its Accounts card to Settings (identity's page) without either package's pages
importing the other's: the card registers itself here when its module is imported, and the
Settings page asks for the registered sections when it is built (after every page module was
imported by `socialhub/socialhub.py`).
"""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx

_SETTINGS: list[Callable[[], rx.Component]] = []


def settings_section(build: Callable[[], rx.Component]) -> Callable[[], rx.Component]:
    """Decorator: show `build()` on the Settings page, below the team section."""
    if build not in _SETTINGS:
        _SETTINGS.append(build)
    return build


def settings_sections() -> list[rx.Component]:
    return [build() for build in _SETTINGS]
