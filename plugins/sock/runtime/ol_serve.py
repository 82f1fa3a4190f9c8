"""Entry point of the sandbox runtime: `python3 -u -B /runtime/ol_serve.py ARGS` (see ol_runtime.py).

Kept to three lines because Python compiles the script it runs at every
start, while imported modules load from __pycache__ (compiled at build
time by scripts/ensure-built): this saves the runtime's compile on every cold start.
"""
import sys

from ol_runtime import main

sys.exit(main())
