"""Identity's pages: sign in, sign up, invites, Settings. Importing this package registers them."""

from socialhub.identity.pages import auth, settings  # noqa: F401
