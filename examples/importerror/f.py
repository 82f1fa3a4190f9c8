# The runtime loads f.py before the first request; an import that fails
# makes every request answer 500 with errorType ModuleNotFoundError and the
# traceback, recorded at /debug/importerror/<request id>/error.
import no_such_module_anywhere  # noqa: F401


def f(event):
    return "never reached"
