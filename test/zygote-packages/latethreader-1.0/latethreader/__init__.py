"""Starts a thread 8 s after import (from a SIGALRM handler): fine when probed, unfit later.

Models a package or function that starts a background thread lazily; the
zygote's check before each fork must catch it.
"""
import signal
import threading
import time


def _start(signum, frame):
    threading.Thread(target=time.sleep, args=(3600,), name="late", daemon=True).start()


signal.signal(signal.SIGALRM, _start)
signal.alarm(8)
