"""Plain HTTP routes beside the Reflex app, one module per subject (mounted in `socialhub/api.py`)."""
