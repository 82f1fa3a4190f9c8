"""OL Kernel sandbox runtime: serves one Python function over HTTP on a Unix socket.

Runs as pid 2 inside a SOCK sandbox with Debian's /usr/bin/python3 and the
standard library only:

    /usr/bin/python3 -u -B /runtime/ol_runtime.py --socket /host/ol.sock \
        --code /handler --entry f.py --handler f --status-fd 3 [--path DIR ...]

Protocol (HTTP/1.1, keep-alive, one request at a time):
    POST /run      JSON body (empty means event None) -> handler(event)
                   200 application/json: json.dumps(return value)
                   400/500 application/json: {"error": {"kind", "type", "message", ...}}
                   kinds: "bad-event" (400), "load", "exception", "exit", "bad-return" (500)
    GET  /health   200 text/plain "ok"
    anything else  404 {"error": {"kind": "not-found", ...}}
The X-OL-Request-Id request header is echoed on the response. With
--capture-dir, a POST /run carrying `X-OL-Capture: <stem>` has fds 1 and 2
redirected to <capture dir>/<stem>.stdout and .stderr while it runs.

Status fd: one line, "ready" once the function is loaded (or failed to load:
that is reported per request) and the socket listens, or "error <reason>"
if the runtime itself could not start (then it exits 1).
"""

# Start-up time is cold-start time: only cheap modules at the top (no
# http.server, argparse, importlib.util); traceback is imported on the first error.
import errno
import json
import os
import selectors
import signal
import socket
import stat
import sys
# importlib.util's two loaders, without importlib.util (which imports contextlib, typing...).
from importlib._bootstrap import module_from_spec
from importlib._bootstrap_external import spec_from_file_location

from ol_http import Connection


class Terminate(BaseException):
    """Raised by the SIGTERM handler.

    A BaseException so that a function's `except Exception` cannot swallow
    it, and a class of our own so that the runtime's catch-all for
    SystemExit and friends can let it through.
    """


def _on_signal(signum, frame):
    raise Terminate(signum)


# Frames in this file (and importlib's) are noise in the author's traceback.
_RUNTIME_FILE = _on_signal.__code__.co_filename


def _is_runtime_frame(filename):
    return filename == _RUNTIME_FILE or filename.startswith("<frozen importlib")


def type_name(cls):
    """Qualified class name: "ValueError", "f.MyError", "json.decoder.JSONDecodeError"."""
    if cls.__module__ in ("builtins", "__main__"):
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def safe_str(exc):
    try:
        return str(exc)
    except Exception:  # a broken __str__ must not break the error report
        return f"<{type_name(type(exc))} with unprintable message>"


def describe(kind, exc, **extra):
    """The error object for an exception, with runtime frames trimmed from its traceback."""
    tb = exc.__traceback__
    while tb is not None and _is_runtime_frame(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    error = {
        "kind": kind,
        "type": type_name(type(exc)),
        "message": safe_str(exc),
        "traceback": _format_exception(exc, tb),
    }
    # The errno name lets the worker explain refusals by the sandbox (EPERM
    # from the seccomp filter in errno mode, EDQUOT/ENOSPC from a disk quota).
    if isinstance(exc, OSError) and isinstance(exc.errno, int):
        error["errno"] = errno.errorcode.get(exc.errno, str(exc.errno))
    error.update(extra)
    return error


def _format_exception(exc, tb):
    import traceback
    return "".join(traceback.format_exception(type(exc), exc, tb))


def error_json(error):
    return json.dumps({"error": error}).encode()


RETURN_HINT = ("return only dicts (with string keys), lists, strings, finite numbers, "
               "booleans and None; convert other values first, e.g. a set with list(...), "
               "a datetime with .isoformat(), bytes with .decode() or base64")


class _Unserialisable(TypeError):
    def __init__(self, obj):
        super().__init__(type_name(type(obj)))
        self.obj = obj


def _reject(obj):
    raise _Unserialisable(obj)


class Function:
    """The loaded handler, or the reason it could not be loaded."""

    def __init__(self, code_dir, entry, handler_name):
        self.handler_name = handler_name
        self.handler = None
        self.load_error = None  # pre-encoded body, answered to every /run
        try:
            self.handler = self._load(code_dir, entry, handler_name)
        except Terminate:
            raise
        except BaseException as e:  # SyntaxError, ImportError, even sys.exit() at import time
            self.load_error = error_json(describe("load", e))

    @staticmethod
    def _load(code_dir, entry, handler_name):
        path = os.path.join(code_dir, entry)
        name = os.path.splitext(os.path.basename(entry))[0]
        if name in sys.modules:
            raise ImportError(f"{entry} would be imported as module {name!r}, which is already "
                              f"loaded (a standard library module?); rename the file")
        spec = spec_from_file_location(name, path)
        if spec is None:
            raise ImportError(f"{path} is not a Python source file")
        module = module_from_spec(spec)
        # Registered before running it, as `import f` would, so that pickle,
        # dataclasses and `import f` from the function's own modules work.
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
        handler = getattr(module, handler_name, None)
        if handler is None:
            raise AttributeError(f"{entry} defines no {handler_name!r}; "
                                 f"the runtime calls {handler_name}(event)")
        if not callable(handler):
            raise TypeError(f"{entry}: {handler_name} is a {type_name(type(handler))}, "
                            f"not a function")
        return handler

    def run(self, body):
        """Run the handler on a request body; return (status, JSON bytes)."""
        if self.load_error is not None:
            return 500, self.load_error
        try:
            event = json.loads(body) if body.strip() else None
        except ValueError as e:  # JSONDecodeError and UnicodeDecodeError alike
            return 400, error_json({"kind": "bad-event", "type": type_name(type(e)),
                                    "message": f"request body is not valid JSON: {e}"})
        try:
            result = self.handler(event)
        except Terminate:
            raise
        except (SystemExit, KeyboardInterrupt) as e:
            # The server must outlive the function's attempt to end the process.
            code = e.code if isinstance(e, SystemExit) else None
            if not isinstance(code, (int, str, type(None))):
                code = repr(code)
            return 500, error_json(describe(
                "exit", e, code=code,
                message=f"the function raised {type(e).__name__} (code {code!r}) instead of "
                        f"returning; the runtime caught it and keeps serving"))
        except BaseException as e:
            return 500, error_json(describe("exception", e))
        try:
            # allow_nan=False: NaN/Infinity are not JSON and break the caller's parser.
            return 200, json.dumps(result, allow_nan=False, default=_reject, separators=(",", ":")).encode()
        except _Unserialisable as e:
            culprit, detail = type_name(type(e.obj)), f"contains a {type_name(type(e.obj))}"
        except (TypeError, ValueError, RecursionError) as e:
            culprit, detail = type_name(type(e)), f"cannot be serialised as JSON ({e})"
        return 500, error_json({
            "kind": "bad-return", "type": culprit,
            "message": f"the value returned by {self.handler_name} {detail}; {RETURN_HINT}"})


# --- Per-invocation output capture -------------------------------------------
#
# The worker names, in the X-OL-Capture header of a POST /run, a file stem;
# for the duration of that call fds 1 and 2 are dup2()ed onto
# <capture dir>/<stem>.stdout and .stderr. At the fd level, so that writes by
# C extensions (printf, write(1, ...)) and by child processes the function
# starts land there too. The worker reads and removes the files once the call
# ended (or the instance died), and bounds what it keeps.

CAPTURE_HEADER = "x-ol-capture"  # header names are lower-cased by ol_http
OUTPUT_HEADER = "X-OL-Output"
_STEM_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_capture_dir = None  # set by main() from --capture-dir; None: no capture
_libc = None


def _flush_stdio():
    """Flush Python's and C's stdio buffers, so that output lands in the file of the call that wrote it."""
    global _libc
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a function may have replaced or closed them
            pass
    try:
        if _libc is None:
            import ctypes
            _libc = ctypes.CDLL(None)
        _libc.fflush(None)
    except Exception:
        pass


class OutputCapture:
    """Redirects fds 1 and 2 to per-request files while a call runs."""

    def __init__(self, directory, stem):
        self.paths = (os.path.join(directory, stem + ".stdout"),
                      os.path.join(directory, stem + ".stderr"))
        self.saved = []

    def __enter__(self):
        _flush_stdio()
        for fd, path in zip((1, 2), self.paths):
            out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
            self.saved.append(os.dup(fd))  # non-inheritable: children never see the real fd
            os.dup2(out, fd)  # inheritable: the function's child processes write to the file
            os.close(out)
        return self

    def __exit__(self, *exc):
        _flush_stdio()
        self.sizes = tuple(os.fstat(fd).st_size for fd in (1, 2))
        for fd, saved in zip((1, 2), self.saved):
            os.dup2(saved, fd)
            os.close(saved)
        self.saved = []
        if self.sizes == (0, 0):
            # Most calls print nothing: remove the empty files here so that the
            # worker, told so by OUTPUT_HEADER, has nothing to open.
            for path in self.paths:
                try:
                    os.unlink(path)
                except OSError:
                    pass
        return False


def _is_capture_stem(stem):
    return len(stem) <= 64 and _STEM_CHARS.issuperset(stem)


def run_captured(function, body, stem):
    """(status, body, headers): function.run(body), with its output captured when the worker asked for it.

    The headers carry OUTPUT_HEADER, "<stdout bytes> <stderr bytes>", once the capture ended.
    """
    if _capture_dir is None or not stem or not _is_capture_stem(stem):
        return function.run(body) + ((),)
    try:
        capture = OutputCapture(_capture_dir, stem)
        capture.__enter__()
    except OSError as e:
        # Serving the call matters more than capturing its output; say why it is missing.
        sys.stderr.write(f"ol-runtime: cannot capture this call's output: {e}\n")
        return function.run(body) + ((),)
    try:
        status, answer = function.run(body)
    finally:
        capture.__exit__(None, None, None)
    return status, answer, ((OUTPUT_HEADER, "%d %d" % capture.sizes),)


def route(function, request):
    """The runtime's answer to one request: (status, body, content type, extra headers)."""
    path = request.path.split("?", 1)[0]
    if (request.method, path) == ("POST", "/run"):
        status, body, headers = run_captured(function, request.body, request.headers.get(CAPTURE_HEADER))
        return status, body, "application/json", headers
    if request.method in ("GET", "HEAD") and path == "/health":
        return 200, b"ok", "text/plain", ()
    return 404, error_json({
        "kind": "not-found",
        "message": f"no route for {request.method} {path}; "
                   f"the runtime serves POST /run and GET /health"}), "application/json", ()


def bad_request(message):
    return error_json({"kind": "bad-request", "message": message})


def listen(path):
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)  # stale, from an earlier run of this sandbox
    except FileNotFoundError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        sock.listen(16)
    except OSError as e:
        sock.close()
        raise OSError(e.errno, f"cannot listen on {path}: {e.strerror}") from None
    return sock


def serve(listener, function):
    """Single-threaded loop: one request at a time, over any number of connections."""
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    while True:
        for key, _ in selector.select():
            if key.fileobj is listener:
                try:
                    sock, _ = listener.accept()
                except OSError:
                    continue
                selector.register(sock, selectors.EVENT_READ, Connection(sock, lambda request: route(function, request), bad_request))
                continue
            conn = key.data
            try:
                keep = conn.serve_ready()
            except OSError:
                keep = False  # the client went away mid-request
            except Exception:
                # A bug in the runtime, not in the function: say so, drop
                # only this connection, keep serving.
                sys.stderr.write("ol-runtime: internal error\n" + _format_exception(*sys.exc_info()[1:]))
                keep = False
            if not keep:
                selector.unregister(key.fileobj)
                conn.close()


def report(fd, line):
    if fd is None:
        return
    try:
        os.write(fd, (line + "\n").encode())
        os.close(fd)
    except OSError:
        pass  # nobody is listening; serving is still right


REHEARSAL_MODULE = "_ol_rehearsal"
REHEARSAL_REQUEST = (b"POST /run HTTP/1.1\r\nHost: sandbox\r\nX-OL-Request-Id: rehearsal\r\n"
                     b"X-OL-Capture: rehearsal\r\nContent-Length: 8\r\n\r\n{\"a\": 1}")


def rehearse(work_dir):
    """Start up and serve one request, as main() would, for a throwaway function in work_dir.

    A zygote's spare runs it before it is handed a request: the pages this
    path writes (reference counts, caches, lazily set-up C helpers) are
    copied from the zygote then, and not while a caller waits for its
    forked instance. Leaves nothing behind: files, sys.path, sys.modules,
    the cwd and the capture setting are put back.
    """
    global _capture_dir
    saved_path, saved_cwd, saved_capture = list(sys.path), os.getcwd(), _capture_dir
    code, capture, sock_path = (os.path.join(work_dir, n) for n in ("code", "capture", "ol.sock"))
    entry = os.path.join(code, REHEARSAL_MODULE + ".py")
    listener = client = conn = selector = None
    try:
        os.makedirs(code, exist_ok=True)
        with open(entry, "w") as f:
            f.write("def f(event):\n    return event\n")
        args = parse_args(["--socket", sock_path, "--code", code, "--entry", REHEARSAL_MODULE + ".py",
                           "--handler", "f", "--capture-dir", capture])
        os.makedirs(args.capture_dir, mode=0o700, exist_ok=True)
        _capture_dir = args.capture_dir
        sys.path[:] = [os.path.abspath(args.code)] + sys.path
        os.chdir(args.code)
        function = Function(args.code, args.entry, args.handler)
        listener = listen(args.socket)
        selector = selectors.DefaultSelector()
        selector.register(listener, selectors.EVENT_READ)
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(sock_path)
        client.sendall(REHEARSAL_REQUEST)
        selector.select(1)
        sock, _ = listener.accept()
        conn = Connection(sock, lambda request: route(function, request), bad_request)
        conn.serve_ready()
        client.recv(1 << 16)
    finally:
        for closable in (conn, client, listener, selector):
            if closable is not None:
                closable.close()
        os.chdir(saved_cwd)
        sys.path[:] = saved_path
        sys.path_importer_cache.pop(code, None)
        sys.modules.pop(REHEARSAL_MODULE, None)
        _capture_dir = saved_capture
        for path in (sock_path, entry):
            try:
                os.unlink(path)
            except OSError:
                pass
        for directory in (os.path.join(code, "__pycache__"), code, capture, work_dir):
            try:
                os.rmdir(directory)
            except OSError:
                pass


USAGE = ("usage: ol_runtime.py --socket PATH --code DIR [--entry f.py] [--handler f] "
         "[--status-fd N] [--path DIR]... [--capture-dir DIR]")
_OPTIONS = {"--socket": "socket", "--code": "code", "--entry": "entry", "--handler": "handler",
            "--status-fd": "status_fd", "--path": "path", "--capture-dir": "capture_dir"}


class Arguments:
    def __init__(self):
        self.socket = self.code = self.status_fd = self.capture_dir = None
        self.entry, self.handler, self.path = "f.py", "f", []


def parse_args(argv):
    """The command line (see USAGE); exits 2 on a bad one. Not argparse: it costs ~13 ms of start-up."""
    args = Arguments()
    if len(argv) % 2:
        _usage_error(f"{argv[-1]} needs a value")
    for option, value in zip(argv[::2], argv[1::2]):
        name = _OPTIONS.get(option)
        if name is None:
            _usage_error(f"unknown option {option}")
        if name == "path":
            args.path.append(value)
        elif name == "status_fd":
            if not value.isdigit():
                _usage_error(f"--status-fd wants a number, not {value!r}")
            args.status_fd = int(value)
        else:
            setattr(args, name, value)
    if args.socket is None or args.code is None:
        _usage_error("--socket and --code are required")
    return args


def _usage_error(message):
    sys.stderr.write(f"{USAGE}\nol_runtime.py: error: {message}\n")
    sys.exit(2)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)

    status_fd = args.status_fd
    if status_fd is not None:
        # Subprocesses the function starts must not hold the worker's pipe open.
        os.set_inheritable(status_fd, False)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    global _capture_dir
    if args.capture_dir:
        os.makedirs(args.capture_dir, mode=0o700, exist_ok=True)
        _capture_dir = args.capture_dir

    code_dir = os.path.abspath(args.code)
    # The function's own modules first, then package dirs, then the stdlib;
    # the runtime's directory (sys.path[0] for a script) is not the function's.
    runtime_dir = os.path.dirname(_RUNTIME_FILE)
    sys.path[:] = [code_dir] + [os.path.abspath(p) for p in args.path] + [
        p for p in sys.path if os.path.abspath(p or ".") != runtime_dir]
    sys.argv = [os.path.join(code_dir, args.entry)]

    listener = None
    try:
        try:
            os.chdir(code_dir)  # relative paths in the function find its data files
            function = Function(code_dir, args.entry, args.handler)
            listener = listen(args.socket)
        except Exception as e:
            report(status_fd, f"error {type(e).__name__}: {e}")
            return 1
        report(status_fd, "ready")
        serve(listener, function)
    except Terminate:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # no second Terminate mid-cleanup
        if listener is not None:
            listener.close()
            try:
                os.unlink(args.socket)
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
