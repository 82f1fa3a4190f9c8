import time


def f(event):
    """Sleep past the 1 s timeout set in ol.yaml: the worker kills it and reports a timeout."""
    time.sleep(float((event or {}).get("seconds", 5)) if isinstance(event, dict) else 5)
    return "woke up"
