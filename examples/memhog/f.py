def f(event):
    """Allocate past the 64 MiB limit in ol.yaml: the kernel OOM-kills the instance."""
    mb = int((event or {}).get("mb", 256)) if isinstance(event, dict) else 256
    hog = [bytearray(1024 * 1024) for _ in range(mb)]
    return len(hog)
