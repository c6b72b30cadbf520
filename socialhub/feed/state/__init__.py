"""Feed's page states, one module per page (stories, sources, digests); they call the services."""


def record_id(value) -> int | None:
    """An id sent by the browser (a story, source, rule or digest id), or None when it is not
    one: not a whole number, a float, a bool, zero or less, or too big for the database."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 19:
        number = int(value.strip())
    else:
        return None
    return number if 0 < number < 2**63 else None
