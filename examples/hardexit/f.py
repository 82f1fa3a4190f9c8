import os


def f(event):
    """End the process without answering: os._exit skips the runtime (sys.exit would be caught)."""
    print("exiting with code 3", flush=True)
    os._exit(3)
