"""Starts a background thread at import, like a metrics or connection-pool package."""
import threading
import time


def _tick():
    while True:
        time.sleep(1)


worker = threading.Thread(target=_tick, name="threader-tick", daemon=True)
worker.start()
