import os


def f(event):
    """Try to become root: the sandbox refuses the system call (EPERM), and the error says so."""
    os.setuid(0)
    return "became root: the sandbox is not doing its job"
