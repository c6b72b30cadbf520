"""Business rules. Plain Python called the same way from pages, the scheduler, the CLI and tests.

Every function takes the SQLModel session first (keyword-only) and scopes every query by the
acting user or team; none imports reflex.
"""
