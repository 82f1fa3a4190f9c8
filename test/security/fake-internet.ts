// A fake internet for the egress tests: a network namespace holding an HTTP
// server on an address outside the host's (203.0.113.80, TEST-NET-3) and a
// fake cloud metadata service (169.254.169.254), both routed from the host
// through a veth, so that the host reaches them exactly as it would reach
// the real internet through a router.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';

export const INTERNET_ADDRESS = '203.0.113.80';
export const METADATA_ADDRESS = '169.254.169.254';
export const HTTP_PORT = 8080;
/** The link between the host and the fake internet. */
const HOST_END = '198.18.0.1';
const FAR_END = '198.18.0.2';

const SERVER = `
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"hello from {self.headers['Host']}".encode()
        self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(('0.0.0.0', ${HTTP_PORT}), H).serve_forever()
`;

export interface FakeInternet {
  stop(): void;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' });
}

/** GET http://<address>:8080/ from the host: its status and body, or the error's code. */
export function hostGet(address: string, port = HTTP_PORT, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host: address, port, path, timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 0, body: (e as NodeJS.ErrnoException).code ?? e.message }));
    req.end();
  });
}

export async function startFakeInternet(): Promise<FakeInternet> {
  const tag = (process.pid % 100000).toString(36);
  const netns = `ol-test-inet-${tag}`;
  const hostVeth = `oltih${tag}`;
  let server: ChildProcess | undefined;
  const stop = () => {
    server?.kill('SIGKILL');
    for (const args of [['route', 'del', `${INTERNET_ADDRESS}/32`], ['route', 'del', `${METADATA_ADDRESS}/32`], ['link', 'del', hostVeth], ['netns', 'del', netns]]) {
      try {
        ip(...args);
      } catch {
        // already gone
      }
    }
  };
  try {
    ip('netns', 'add', netns);
    ip('link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns);
    ip('addr', 'add', `${HOST_END}/30`, 'dev', hostVeth);
    ip('link', 'set', hostVeth, 'up');
    ip('-n', netns, 'addr', 'add', `${FAR_END}/30`, 'dev', 'eth0');
    ip('-n', netns, 'link', 'set', 'eth0', 'up');
    ip('-n', netns, 'link', 'set', 'lo', 'up');
    for (const a of [INTERNET_ADDRESS, METADATA_ADDRESS]) {
      ip('-n', netns, 'addr', 'add', `${a}/32`, 'dev', 'lo');
      ip('route', 'add', `${a}/32`, 'via', FAR_END);
    }
    server = spawn('ip', ['netns', 'exec', netns, '/usr/bin/python3', '-c', SERVER], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      if ((await hostGet(INTERNET_ADDRESS)).status === 200) return { stop };
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the fake internet's HTTP server on ${INTERNET_ADDRESS}:${HTTP_PORT} did not answer the host`);
  } catch (e) {
    stop();
    throw e;
  }
}
