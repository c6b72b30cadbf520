"""Chat's page state (Reflex)."""
