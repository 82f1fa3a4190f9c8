def f(event):
    """Return the event unchanged."""
    return event
