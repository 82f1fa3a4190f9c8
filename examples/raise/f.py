def f(event):
    """Fail on purpose: the caller gets the exception type, message and traceback."""
    raise ValueError(f"bad input: {event!r}")
