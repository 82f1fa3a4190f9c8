def f(event):
    """Fill the sandbox's /tmp (sock.tmp_mb, 64 MiB by default) until the write fails with ENOSPC."""
    chunk = b"x" * (1024 * 1024)
    written = 0
    with open("/tmp/fill", "wb") as out:
        while True:
            out.write(chunk)
            out.flush()
            written += 1
