"""Reflex state: one AppState for the signed-in user, one small substate per page.

States parse input, call one service, and assign what the page shows. They hold no business
rules and re-check the signed-in user (from the HttpOnly cookie) in every handler.
"""
