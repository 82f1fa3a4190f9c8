"""Call an HTTP API with a secret the function never sees.

The worker gives a function that lists a secret under `secrets:` in its
ol.yaml (mode proxy, the default) a Unix socket to its egress proxy, at
$OL_EGRESS_SOCKET (/run/ol/egress.sock). The function names the secret and
the real URL; the worker checks the grant and the destination, adds the
credential (a header, basic auth or a query parameter, as the operator's
role says), forwards the request and streams the answer back.

    import ol_egress
    status, headers, body = ol_egress.request("api-token", "https://api.example.com/v1/items")

Only the Python standard library: http.client over AF_UNIX.
"""
import http.client
import json
import os
import socket
from urllib.parse import quote

DEFAULT_SOCKET = "/run/ol/egress.sock"


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("proxy", timeout=timeout)
        self._path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self._path)
        self.sock = s


def request(secret, url, method="GET", body=None, headers=None, timeout=30):
    """Send `method url` through the egress proxy with `secret` injected.

    Returns (status, headers, body bytes). A refusal by the proxy (no grant,
    destination not allowed, secret not stored) comes back as a 4xx/5xx with
    an X-OL-Egress-Error header and a JSON body that says why.
    """
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", **(headers or {})}
    conn = _UnixConnection(os.environ.get("OL_EGRESS_SOCKET", DEFAULT_SOCKET), timeout)
    try:
        conn.request(method, "/" + quote(secret, safe="") + "/" + url, body=body, headers=headers or {})
        res = conn.getresponse()
        return res.status, dict(res.getheaders()), res.read()
    finally:
        conn.close()
