"""OL Kernel zygote: a fork server that has imported a set of packages.

Runs as the program of a zygote sandbox (ol-launcher --keep-caps, uid 0):

    /usr/bin/python3 -u -B /runtime/ol_zygote.py --fork-socket /host/fork.sock \
        --status-fd 3 [--reaper /.ol/reaper] [--import MODULE ...] [--path DIR ...]

It imports the modules (and ol_runtime), writes "ready" on the status fd
(or "error <reason>"), then serves fork requests on the Unix socket, one
connection each. A request is one JSON object, with file descriptors
attached (SCM_RIGHTS) in this order: one per name in "ns" (namespace files
of the new sandbox, from /proc/<its init>/ns/), then "cgroups" cgroup.procs
files opened for writing, then a file holding the instance's environment
(NAME=VALUE entries, each ended by a NUL byte). Only the instance reads that
file, after the fork: the zygote never holds an environment value (a secret),
so no later fork inherits one.

    {"ns": ["net", "uts", "ipc", "mnt"], "cgroups": 2,
     "runtime": [ol_runtime.py arguments], "uid": 65534, "gid": 65534,
     "seccomp": base64 of a struct sock_filter array or null,
     "exit_fifo": "/host/.leaf-exit", "stdio_from": 2}

A spare instance (C, see start_spare), forked ahead of time and waiting in
accept(), takes the request, enters the new sandbox and becomes the
instance; its pid 1 (B) reaps it. It answers on the same connection:
"ready" once its function is loaded and its socket listens, or
"error <reason>". The zygote itself answers only "error ..." when it
cannot fork at all.

A request for a child zygote has, instead of "runtime" and "seccomp",

    "zygote": {"imports": [modules its parent lacks], "paths": [sys.path entries],
               "fork_socket": "/host/fork.sock"}

and the forked process imports them, keeps its privileges and the zygote's
filter, answers "ready" once it listens on its own fork socket (in the new
sandbox's root), and serves fork requests like this one.
"""

import argparse
import base64
import ctypes
import gc
import importlib
import json
import os
import random
import signal
import socket
import struct
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
NS_FLAGS = {"mnt": CLONE_NEWNS, "net": 0x40000000, "uts": 0x04000000, "ipc": 0x08000000}
PR_SET_PDEATHSIG = 1
PR_CAPBSET_READ = 23
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
MS_NOSUID, MS_NODEV, MS_NOEXEC = 2, 4, 8
MAX_FDS = 32
# ol-launcher, as each instance's pid 1 execs it (--reap); None: reap in Python. Inherited by child zygotes.
REAPER = None
# How often the zygote looks whether its spare still runs.
SPARE_CHECK_S = 1.0

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def setns(fd, kind):
    _check(_libc.setns(fd, NS_FLAGS[kind]), f"setns({kind})")


def unshare(flags, what):
    _check(_libc.unshare(flags), f"unshare({what})")


def prctl(option, arg):
    _check(_libc.prctl(option, ctypes.c_ulong(arg), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)), f"prctl({option})")


def mount_proc():
    flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
    _check(_libc.mount(b"proc", b"/proc", b"proc", ctypes.c_ulong(flags), None), "mount /proc")


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install_seccomp(program):
    """Stack the leaf filter on the zygote's own (filters only ever narrow)."""
    if len(program) % 8 or not program:
        raise ValueError(f"seccomp filter of {len(program)} bytes is not a sock_filter array")
    buf = ctypes.create_string_buffer(program, len(program))
    prog = SockFprog(len(program) // 8, ctypes.addressof(buf))
    _check(_libc.prctl(PR_SET_SECCOMP, ctypes.c_ulong(SECCOMP_MODE_FILTER), ctypes.byref(prog), ctypes.c_ulong(0), ctypes.c_ulong(0)), "seccomp")


def drop_privileges(uid, gid):
    """What ol-launcher does for a fresh instance: no capabilities left, ever."""
    cap = 0
    while _libc.prctl(PR_CAPBSET_DROP, ctypes.c_ulong(cap), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)) == 0:
        cap += 1
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)  # from uid 0: clears the permitted and effective sets
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    # A uid change without exec leaves the process non-dumpable: its /proc/self
    # files would belong to root and the function could not read its own
    # environ, maps or mem, as it can in a fresh instance (which execs).
    prctl(PR_SET_DUMPABLE, 1)


def exit_status(status):
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def answer(conn_fd, line):
    try:
        os.write(conn_fd, (line.replace("\n", " ") + "\n").encode())
    except OSError:
        pass


def enter_sandbox(req, ns_fds, cgroup_fds):
    """In the spare instance (C, pid 2 of its pid namespace): join the new sandbox's cgroups and namespaces, as root."""
    for fd in cgroup_fds:
        os.write(fd, b"0")  # "0": the writing process itself, in v1 and v2 alike
        os.write(fd, b"1")  # our reaper (pid 1 here), which would otherwise stay in the zygote's cgroup
        os.close(fd)
    # The mount namespace last: it changes our root and cwd to the new sandbox's.
    for kind, fd in sorted(zip(req["ns"], ns_fds), key=lambda p: p[0] == "mnt"):
        setns(fd, kind)
        os.close(fd)
    os.chdir("/")
    # Output outside invocations goes where the sandbox's own program's goes.
    holder = req.get("stdio_from")
    if holder:
        for n in (1, 2):
            try:
                out = os.open(f"/proc/{holder}/fd/{n}", os.O_WRONLY)
                os.dup2(out, n)
                os.close(out)
            except OSError:
                pass
    # A private copy of the mount namespace, for the /proc of our own pid namespace.
    unshare(CLONE_NEWNS, "mount")


def read_env(env_fd):
    """The instance's environment from its env file (written by the worker, offset at its end)."""
    chunks, pos = [], 0
    while chunk := os.pread(env_fd, 1 << 16, pos):
        chunks.append(chunk)
        pos += len(chunk)
    os.close(env_fd)
    entries = b"".join(chunks).split(b"\0")[:-1]
    return dict(e.decode().split("=", 1) for e in entries)


def set_environ(env):
    """os.environ = env, touching only what differs (clear() re-reads the mapping per key: slow in a fresh fork)."""
    for name in [n for n in os.environ if n not in env]:
        del os.environ[name]
    for name, value in env.items():
        if os.environ.get(name) != value:
            os.environ[name] = value


def become_leaf_user(req, env_fd):
    """In C, once in its sandbox: the instance's environment, no privilege left, the leaf filter."""
    set_environ(read_env(env_fd))
    drop_privileges(req["uid"], req["gid"])
    if req.get("seccomp"):
        install_seccomp(base64.b64decode(req["seccomp"]))


def run_leaf(req, conn_fd):
    """In C, pid 2 of the new pid namespace: become a normal runtime serving the function."""
    # Every instance must differ from its siblings: the zygote's PRNG state was copied.
    random.seed()
    # The zygote's own fds (listener, request fds, the exit fifo) are closed by now;
    # the packages' fds stay (the suitability check keeps unsafe ones out of zygotes).
    import ol_runtime
    sys.exit(ol_runtime.main(req["runtime"] + ["--status-fd", str(conn_fd)]))


def run_zygote(req, conn_fd, env_fd):
    """In C: become a child zygote, which imports what its parent lacks and serves forks from its own sandbox (root, privileges kept)."""
    set_environ(read_env(env_fd))
    spec = req["zygote"]
    server = prepare(spec["imports"], spec["paths"], spec["fork_socket"])
    answer(conn_fd, "ready")
    os.close(conn_fd)
    serve(*server)
    return 0


def reap_until(child, fifo_fd):
    """B, pid 1 of the new pid namespace: reap orphans until the instance exits, then report its status."""
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 0
        except InterruptedError:
            continue
        if pid == child:
            code = exit_status(status)
            if fifo_fd is not None:
                try:
                    os.write(fifo_fd, f"{code}\n".encode())
                except OSError:
                    pass
            return code


def reap(to_c):
    """
    B, once C is forked: become its reaper, as root but out of its reach (not
    dumpable: no ptrace, no /proc/1/root for C). The ol-launcher binary
    mounted in the zygote's sandbox (--reaper) does it without a copy of our
    pages; this Python loop is the fallback. Either gets the holder's FIFO
    from C once C entered the new sandbox, and writes C's exit status there.
    """
    prctl(PR_SET_DUMPABLE, 0)
    if REAPER:
        try:
            os.set_inheritable(to_c.fileno(), True)
            os.execve(REAPER, ["ol-launcher", "--reap", str(to_c.fileno())], {})
        except OSError as e:
            sys.stderr.write(f"ol-zygote: cannot exec the reaper {REAPER} ({e}); reaping in Python\n")
    try:
        _, fds, _, _ = socket.recv_fds(to_c, 16, 1)
    except OSError:
        fds = []
    to_c.close()
    os._exit(reap_until(2, fds[0] if fds else None))


def serve_request(conn, to_b):
    """C: the request taken; enter the new sandbox, hand the exit FIFO to B, become the instance (or a child zygote)."""
    try:
        req, fds = receive(conn)
        n_ns, n_cg = len(req["ns"]), req["cgroups"]
        # Then the instance's env file, which only the instance reads.
        if len(fds) != n_ns + n_cg + 1:
            raise ValueError(f"expected {n_ns + n_cg + 1} fds, got {len(fds)}")
    except Exception as e:
        answer(conn.fileno(), f"error bad fork request: {e}")
        os._exit(1)
    conn_fd, env_fd = conn.detach(), fds[n_ns + n_cg]
    zygote = "zygote" in req
    try:
        enter_sandbox(req, fds[:n_ns], fds[n_ns:n_ns + n_cg])
        try:
            mount_proc()  # /proc of our pid namespace
        except OSError as e:
            sys.stderr.write(f"ol-zygote: {e}; /proc shows the sandbox's other processes\n")
        fifo_fd = os.open(req["exit_fifo"], os.O_WRONLY)
        socket.send_fds(to_b, [b"f"], [fifo_fd])
        os.close(fifo_fd)
        to_b.close()
        if not zygote:
            become_leaf_user(req, env_fd)
    except Exception as e:
        answer(conn_fd, f"error cannot enter the new sandbox: {e}")
        os._exit(1)
    try:
        code = run_zygote(req, conn_fd, env_fd) if zygote else run_leaf(req, conn_fd)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except BaseException as e:
        answer(conn_fd, f"error the forked {'zygote' if zygote else 'instance'} failed to start: {type(e).__name__}: {e}")
        code = 1
    os._exit(code)


def receive(conn):
    data, fds, _, _ = socket.recv_fds(conn, 1 << 20, MAX_FDS)
    while not data.endswith(b"}") and data:
        more = conn.recv(1 << 20)
        if not more:
            break
        data += more
    return json.loads(data), fds


def warm_up():
    """
    Run, in a new spare, what a request will make it run, on harmless inputs:
    the pages those steps write (reference counts, caches) are copied from
    the zygote now, not while a caller waits for its instance.
    """
    one, other = socket.socketpair()
    socket.send_fds(one, [b'{"ns": ["net", "mnt"], "cgroups": 1, "uid": 1, "gid": 1, "exit_fifo": "/x", "stdio_from": 2, "seccomp": null}'], [one.fileno()])
    data, fds, _, _ = socket.recv_fds(other, 1 << 10, MAX_FDS)
    json.loads(data)
    for fd in fds:
        os.close(fd)
    one.close()
    other.close()
    base64.b64decode(b"AAAAAAAAAAA=")
    SockFprog(1, ctypes.addressof(ctypes.create_string_buffer(b"\0" * 8, 8)))
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_READ, ctypes.c_ulong(cap), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)) < 0:
            break
    dict(e.decode().split("=", 1) for e in b"A=1\0B=2\0".split(b"\0")[:-1])
    set_environ(dict(os.environ))
    random.random()
    import ol_runtime
    try:
        ol_runtime.rehearse(f"/tmp/.ol-rehearsal-{os.getpid()}")
    except Exception as e:  # only slower: the instance pays for these pages itself
        sys.stderr.write(f"ol-zygote: the spare's rehearsal failed: {type(e).__name__}: {e}\n")


def run_spare(listener, taken):
    """C, the spare instance: wait for the next fork request, tell the zygote (which makes the next spare meanwhile), serve it."""
    warm_up()
    while True:
        try:
            conn, _ = listener.accept()
            break
        except InterruptedError:
            continue
    listener.close()
    taken.send(b"taken")
    taken.close()
    return conn


def start_spare(listener, taken_r, taken_w):
    """
    Make the spare ahead of the next request, so that a request waits for no
    fork of this process at all. A unshares a pid namespace, forks B (its
    pid 1) and exits: B is no child of ours (our sandbox's init reaps it), so
    the zygote has no child when it is inspected.
    """
    a = os.fork()
    if a == 0:
        try:
            unshare(CLONE_NEWPID, "pid")
            b = os.fork()
            if b == 0:
                spare_pid1(listener, taken_r, taken_w)
            taken_w.send(f"spare {b}".encode())
        except BaseException as e:
            sys.stderr.write(f"ol-zygote: cannot make a spare: {e}\n")
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(a, 0)
    if exit_status(status) != 0:
        raise RuntimeError("cannot fork a spare (see the message above)")


def spare_pid1(listener, taken_r, taken_w):
    """B: fork C (pid 2), the spare instance, which waits for a request; become C's reaper."""
    to_c, to_b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    if os.fork():
        for sock in (listener, taken_r, taken_w, to_b):
            sock.close()
        reap(to_c)
    try:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        to_c.close()
        taken_r.close()
        conn = run_spare(listener, taken_w)
    except BaseException:
        os._exit(1)
    serve_request(conn, to_b)


def serve(listener, taken_r, taken_w):
    """
    Keep one spare waiting on the listener; make the next as soon as it took
    a request, or died without taking one (then nobody would accept). Called
    once ready (the status fd closed: no spare may hold it).
    """
    taken_r.settimeout(SPARE_CHECK_S)
    while True:
        start_spare(listener, taken_r, taken_w)
        spare = None
        while True:
            try:
                message = taken_r.recv(32)
            except (InterruptedError, socket.timeout):
                message = b""
            if message.startswith(b"spare "):
                spare = int(message.split()[1])
            elif message == b"taken" or (spare and not alive(spare)):
                break


def alive(pid):
    """Whether the spare's pid 1 (no child of ours: its exit is not ours to see) still runs."""
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def prepare(modules, paths, fork_socket):
    """Import the modules and listen on the fork socket; raises what went wrong."""
    sys.path[1:1] = [p for p in map(os.path.abspath, paths) if p not in sys.path]
    import ol_runtime  # noqa: F401  (shared with every instance, like the packages)
    for name in modules:
        importlib.import_module(name)
    # Resolved once here, not in every fork (ctypes looks each function up on first use).
    for name in ("setns", "unshare", "prctl", "mount"):
        getattr(_libc, name)
    # Move every object imported so far out of the collector's reach: a collection in
    # an instance would otherwise write to all of them and unshare every page (gc.freeze).
    gc.collect()
    gc.freeze()
    try:
        os.unlink(fork_socket)
    except FileNotFoundError:
        pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(fork_socket)
    os.chmod(fork_socket, 0o600)
    listener.listen(64)
    # Made before the zygote says ready: its fds are among those the pre-fork check expects.
    taken_r, taken_w = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    return listener, taken_r, taken_w


def main(argv=None):
    parser = argparse.ArgumentParser(description="OL Kernel zygote (fork server)")
    parser.add_argument("--fork-socket", required=True)
    parser.add_argument("--status-fd", type=int, required=True)
    parser.add_argument("--import", dest="modules", action="append", default=[])
    parser.add_argument("--path", action="append", default=[])
    parser.add_argument("--reaper", default=None, help="ol-launcher inside this sandbox, exec'd as each instance's reaper")
    args = parser.parse_args(argv)
    global REAPER
    REAPER = args.reaper
    os.set_inheritable(args.status_fd, False)
    try:
        server = prepare(args.modules, args.path, args.fork_socket)
    except BaseException as e:
        os.write(args.status_fd, f"error {type(e).__name__}: {e}\n".encode())
        return 1
    os.write(args.status_fd, b"ready\n")
    os.close(args.status_fd)
    serve(*server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
