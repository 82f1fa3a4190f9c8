"""Keeps an open directory fd at import (the root it was imported in).

A forked child that moves into another root still holds it: fchdir() to it
and `..` lead back into this process's root, outside the child's own.
"""
import os

ROOT_FD = os.open("/", os.O_RDONLY | os.O_DIRECTORY)


def escape_and_list():
    """What the directory fd reaches: the listing of the root it was opened in."""
    os.fchdir(ROOT_FD)
    return sorted(os.listdir("."))
