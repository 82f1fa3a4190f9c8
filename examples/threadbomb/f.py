import threading
import time


def f(event):
    """Start threads until the process limit in ol.yaml refuses one (RuntimeError: can't start new thread)."""
    started = []
    while True:
        t = threading.Thread(target=time.sleep, args=(30,), daemon=True)
        t.start()
        started.append(t)
