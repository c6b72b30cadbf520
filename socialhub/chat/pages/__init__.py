"""Chat's pages. Importing this package registers them."""

from socialhub.chat.pages import chat  # noqa: F401
