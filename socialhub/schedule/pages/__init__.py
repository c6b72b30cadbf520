"""Schedule's pages: the calendar and the composer. Importing this package registers them."""

from socialhub.schedule.pages import calendar, compose  # noqa: F401
