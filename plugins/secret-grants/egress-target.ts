import type { IncomingMessage } from 'node:http';

export const SECRET_HEADER = 'x-ol-secret';

/** What a function asked the proxy for: a secret and where to send the request. */
export interface EgressTarget {
  secret: string;
  url: URL;
}

/**
 * Two request forms are accepted on the egress socket:
 * - `METHOD /<secret>/<absolute upstream URL>` (easy from any HTTP client);
 * - a classic forward-proxy request, `METHOD http://host/path`, with the
 *   secret named in the `X-OL-Secret` header.
 * Returns a message saying how to call instead when neither fits.
 */
export function parseTarget(req: IncomingMessage): EgressTarget | string {
  const raw = req.url ?? '';
  let secret: string | undefined;
  let url: string;
  if (/^https?:\/\//i.test(raw)) {
    const h = req.headers[SECRET_HEADER];
    secret = Array.isArray(h) ? h[0] : h;
    url = raw;
  } else {
    const m = /^\/([^/]+)\/(https?:\/\/.+)$/i.exec(raw);
    if (!m) return USAGE;
    secret = safeDecode(m[1]);
    url = m[2];
  }
  if (!secret) return `no secret named: ${USAGE}`;
  try {
    return { secret, url: new URL(url) };
  } catch {
    return `the upstream URL is not a valid absolute http(s) URL: ${USAGE}`;
  }
}

const USAGE = 'send METHOD /<secret>/<upstream URL> (e.g. GET /api-token/https://api.example.com/v1/items), or an absolute-form proxy request with the header X-OL-Secret: <secret>';

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}
