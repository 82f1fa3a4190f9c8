import ctypes
import os
import subprocess
import sys

libc = ctypes.CDLL(None)


def f(event):
    """Write to stdout and stderr in every way a function can: all of it is captured per invocation."""
    event = event or {}
    print("hello from print")
    print("warning from print", file=sys.stderr)
    line = b"hello from C write(1)\n"
    libc.write(1, line, len(line))  # a C extension's write, below Python's sys.stdout
    os.system("echo hello from a child shell")
    subprocess.run(["sh", "-c", "echo child stderr >&2"], check=True)
    if event.get("bytes"):
        sys.stdout.write("x" * int(event["bytes"]))
    return {"ok": True}
