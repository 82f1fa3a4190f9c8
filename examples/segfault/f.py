import ctypes

# An address in the kernel's half of the address space: never readable from user space.
KERNEL_ADDRESS = 0xFFFFFFFFFFFF0000


def f(event):
    """Crash in native code: read memory the process may not touch. The kernel kills the instance with SIGSEGV."""
    print("about to read a forbidden address through ctypes", flush=True)
    return ctypes.string_at(KERNEL_ADDRESS, 1)
