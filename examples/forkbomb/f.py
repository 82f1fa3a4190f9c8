import os


def f(event):
    """Fork until the process limit in ol.yaml stops it."""
    children = 0
    try:
        while True:
            if os.fork() == 0:
                import time
                time.sleep(60)
                os._exit(0)
            children += 1
    except OSError as e:
        return {"children": children, "stopped_by": str(e)}
