# Calls an API with the secret "api-token" through the worker's egress proxy.
# Needs an operator role granting api-token to this function (see README.md).
import json

import ol_egress


def f(event):
    status, headers, body = ol_egress.request("api-token", event["url"])
    try:
        answer = json.loads(body)
    except ValueError:
        answer = body.decode("utf-8", "replace")
    return {"status": status, "answer": answer, "refused": headers.get("X-OL-Egress-Error") or headers.get("x-ol-egress-error")}
