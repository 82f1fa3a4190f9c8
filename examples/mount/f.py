"""Calls mount(2), which no function may do.

The sandbox's seccomp filter (the seccomp plugin) refuses it: with EPERM
in errno mode, or by killing the process in kill mode. This example shows
the kill, whatever the worker's profile: it first installs a filter of its
own that kills the process on mount (any process with no_new_privs, as
every sandboxed one is, may add a seccomp filter; the strictest action of
all filters wins). The worker then diagnoses SIGSYS, finds the kernel's
audit record, and names the blocked system call.
"""
import ctypes
import platform
import struct

libc = ctypes.CDLL(None, use_errno=True)

SYS_MOUNT = {"x86_64": 165, "aarch64": 40}[platform.machine()]
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
BPF_LD_W_ABS, BPF_JEQ_K, BPF_RET_K = 0x20, 0x15, 0x06
SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_ALLOW = 0x80000000, 0x7FFF0000


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def kill_on(nr):
    insns = [(BPF_LD_W_ABS, 0, 0, 0),  # the syscall number
             (BPF_JEQ_K, 0, 1, nr),
             (BPF_RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS),
             (BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW)]
    code = b"".join(struct.pack("HBBI", *i) for i in insns)
    buf = ctypes.create_string_buffer(code, len(code))
    prog = SockFprog(len(insns), ctypes.cast(buf, ctypes.c_void_p))
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "cannot install the example's seccomp filter")


def f(event):
    kill_on(SYS_MOUNT)
    print("calling mount(2)", flush=True)
    libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)
    return "mount returned: the sandbox did not block it"
