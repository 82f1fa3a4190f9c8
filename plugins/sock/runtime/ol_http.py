"""A small HTTP/1.1 server connection for the sandbox runtime.

Why not http.server: importing it (with email, http.client, ssl...) costs
about 60 ms, most of a bare runtime's start, and every cold start pays it.
The worker is the only client (undici, over a Unix socket), so this serves
the subset it speaks: a request line, header fields, a body framed by
Content-Length or chunked, keep-alive and pipelining. Anything else is a
400 and the connection closes, as the stream may be out of sync.

Requests are parsed from a buffer as bytes arrive, so a client that sends
half a request never blocks the others (the serve loop is single-threaded).
"""

MAX_HEAD = 64 * 1024
MAX_CHUNK_LINE = 1024

REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 413: "Payload Too Large",
           431: "Request Header Fields Too Large", 500: "Internal Server Error"}


class BadRequest(ValueError):
    """The bytes on the connection are not a request this server accepts."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


class Request:
    __slots__ = ("method", "path", "headers", "body", "keep_alive")

    def __init__(self, method, path, headers, body, keep_alive):
        self.method = method
        self.path = path
        self.headers = headers  # lower-case names
        self.body = body
        self.keep_alive = keep_alive


def _parse_head(head):
    """Request line and header fields of one request (without the blank line)."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[0].isalpha() or parts[2] not in ("HTTP/1.1", "HTTP/1.0"):
        raise BadRequest(f"bad request line {lines[0][:80]!r}")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise BadRequest(f"bad header line {line[:80]!r}")
        headers[name.lower()] = value.strip()
    connection = headers.get("connection", "").lower()
    if parts[2] == "HTTP/1.1":
        keep_alive = "close" not in connection
    else:
        keep_alive = "keep-alive" in connection
    return parts[0], parts[1], headers, keep_alive


def _chunked_body(buf, start):
    """(body, end offset) of a complete chunked body at buf[start:], or None if more bytes are needed."""
    parts = []
    pos = start
    while True:
        eol = buf.find(b"\r\n", pos, pos + MAX_CHUNK_LINE)
        if eol < 0:
            if len(buf) - pos >= MAX_CHUNK_LINE:
                raise BadRequest("malformed chunked request body (chunk size line too long)")
            return None
        try:
            size = int(bytes(buf[pos:eol]).split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise BadRequest(f"bad chunk size line {bytes(buf[pos:eol])[:40]!r}") from None
        pos = eol + 2
        if size == 0:
            return _skip_trailer(buf, pos, parts)
        if len(buf) < pos + size + 2:
            return None
        if buf[pos + size:pos + size + 2] != b"\r\n":
            raise BadRequest("malformed chunked request body")
        parts.append(bytes(buf[pos:pos + size]))
        pos += size + 2


def _skip_trailer(buf, pos, parts):
    end = buf.find(b"\r\n\r\n", pos - 2)
    if end < 0:
        return None
    return b"".join(parts), end + 4


def parse_request(buf):
    """(Request, bytes consumed) for the first complete request in buf, or None if it is incomplete."""
    end = buf.find(b"\r\n\r\n", 0, MAX_HEAD)
    if end < 0:
        if len(buf) >= MAX_HEAD:
            raise BadRequest(f"request head larger than {MAX_HEAD} bytes", 431)
        return None
    method, path, headers, keep_alive = _parse_head(bytes(buf[:end]))
    start = end + 4
    if "chunked" in headers.get("transfer-encoding", "").lower():
        framed = _chunked_body(buf, start)
        if framed is None:
            return None
        body, stop = framed
    else:
        length = headers.get("content-length", "0")
        if not length.isdigit():
            raise BadRequest(f"bad Content-Length {length!r}")
        stop = start + int(length)
        if len(buf) < stop:
            return None
        body = bytes(buf[start:stop])
    return Request(method, path, headers, body, keep_alive), stop


def response_bytes(status, body, content_type, request_id, close, head_only, extra=()):
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}", "Server: ol-runtime",
             f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    lines.extend(f"{name}: {value}" for name, value in extra)
    if request_id:
        lines.append(f"X-OL-Request-Id: {request_id}")
    if close:
        lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if head_only else head + body


class Connection:
    """One client connection; the serve loop calls serve_ready() when bytes arrive.

    handle(request) -> (status, body bytes, content type, extra header pairs) answers a request;
    bad_request(message) -> body bytes answers what could not be parsed.
    """

    def __init__(self, sock, handle, bad_request):
        self.sock = sock
        self.handle = handle
        self.bad_request = bad_request
        self.buf = bytearray()

    def serve_ready(self):
        """Read what arrived, answer every complete request in it; False once the connection should close."""
        data = self.sock.recv(256 * 1024)
        if not data:
            return False
        self.buf += data
        while True:
            try:
                parsed = parse_request(self.buf)
            except BadRequest as e:
                self.sock.sendall(response_bytes(e.status, self.bad_request(str(e)),
                                                 "application/json", None, True, False))
                return False
            if parsed is None:
                return True
            request, used = parsed
            del self.buf[:used]
            status, body, content_type, extra = self.handle(request)
            self.sock.sendall(response_bytes(status, body, content_type,
                                             request.headers.get("x-ol-request-id"),
                                             not request.keep_alive, request.method == "HEAD", extra))
            if not request.keep_alive:
                return False

    def close(self):
        self.sock.close()
