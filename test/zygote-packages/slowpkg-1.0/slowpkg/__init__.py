"""A package that is slow to import (~200 ms) and builds ~20 MB of tables, like a big library."""
import time

_started = time.monotonic()
# Memory that a forked instance shares with its zygote instead of building again.
TABLES = [bytes([i % 251]) * 4096 for i in range(5000)]
INDEX = {i: str(i) * 4 for i in range(100000)}
# The rest of the ~200 ms (CPU-bound loaders are the common case; sleeping keeps timing stable here).
time.sleep(max(0.0, 0.2 - (time.monotonic() - _started)))
IMPORT_SECONDS = time.monotonic() - _started


def answer(x):
    return {"x": x, "tables": len(TABLES), "index": len(INDEX)}
