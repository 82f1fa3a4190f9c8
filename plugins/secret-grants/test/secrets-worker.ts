import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { Client } from 'undici';
import YAML from 'yaml';
import { DEFAULT_CONFIG_FILE } from '../../../core/config/load-config';
import { CORE_CONFIG_KEYS } from '../../../core/config/worker-config';
import { Worker } from '../../../core/lifecycle/worker';
import { sendRequest, type Reply } from '../../../test/helpers/worker-fixture';

export type { Reply };

export const REPO = path.resolve(__dirname, '../../../..');
const FIXTURES = path.join(REPO, 'plugins/secret-grants/test/fixtures');
const EGRESS_HELPER = path.join(REPO, 'examples/secret-proxy/ol_egress.py');
const SANDBOX_PLUGINS = ['cgroup-v2', 'cgroup-v1', 'sock', 'seccomp', 'registry-dir', 'scheduler-fifo'];

/** A worker with the secrets plugins, whose every log line (at trace level) and admin answer are kept for inspection. */
export interface SecretsWorker {
  worker: Worker;
  dir: string;
  logLines: string[];
  adminBodies: string[];
  run(name: string, event: unknown): Promise<Reply>;
  admin(method: string, urlPath: string, body?: string | Buffer): Promise<Reply>;
  stop(): Promise<void>;
}

/** Write test functions: the shared f.py, the probe, the example's egress helper, and each one's ol.yaml. */
export function writeFunctions(root: string, olYamls: Record<string, string>): void {
  for (const [name, olYaml] of Object.entries(olYamls)) {
    const dir = path.join(root, name);
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(path.join(FIXTURES, 'f.py'), path.join(dir, 'f.py'));
    fs.copyFileSync(path.join(FIXTURES, 'probe.py'), path.join(dir, 'probe.py'));
    fs.copyFileSync(EGRESS_HELPER, path.join(dir, 'ol_egress.py'));
    fs.writeFileSync(path.join(dir, 'ol.yaml'), olYaml);
  }
}

export async function startSecretsWorker(sections: Record<string, unknown>, functionsDir: string, ours = ['secrets-file', 'secrets-dir', 'secret-grants']): Promise<SecretsWorker> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'olsec-'));
  const config = YAML.parse(fs.readFileSync(DEFAULT_CONFIG_FILE, 'utf8'));
  // The default's sandbox plugins plus ours; other optional plugins (and their sections) stay out of this test.
  config.plugins = [...config.plugins.filter((p: string) => SANDBOX_PLUGINS.includes(p)), ...ours];
  for (const key of Object.keys(config)) if (!CORE_CONFIG_KEYS.has(key) && !config.plugins.includes(key)) delete config[key];
  config.http.port = 0;
  config['registry-dir'] = { ...config['registry-dir'], dirs: [functionsDir] };
  Object.assign(config, sections);
  const configFile = path.join(dir, 'test-config.yaml');
  fs.writeFileSync(configFile, YAML.stringify(config));
  const logLines: string[] = [];
  const logger = pino({ level: 'trace' }, { write: (line: string) => void logLines.push(line) });
  const worker = await Worker.start({ dir: path.join(dir, 'w'), configFile, logger });
  const pub = new Client(`http://127.0.0.1:${worker.port}`);
  const adm = new Client('http://localhost', { socketPath: worker.paths.adminSocket });
  const adminBodies: string[] = [];
  const send = (client: Client, method: string, urlPath: string, body?: string | Buffer) => sendRequest(client, method, urlPath, body);
  return {
    worker,
    dir,
    logLines,
    adminBodies,
    run: (name, event) => send(pub, 'POST', `/run/${name}`, JSON.stringify(event)),
    async admin(method, urlPath, body) {
      const r = await send(adm, method, urlPath, body);
      adminBodies.push(JSON.stringify(r.headers) + r.text);
      return r;
    },
    async stop() {
      await pub.close();
      await adm.close();
      await worker.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An HTTP API on loopback that answers 200 only to `Authorization: Bearer <token>`; it never echoes the token. */
export interface Upstream {
  port: number;
  token: string;
  /** Authorization headers it received, in order. */
  seen: string[];
  close(): Promise<void>;
}

export async function startUpstream(token: string): Promise<Upstream> {
  const up: Upstream = { port: 0, token, seen: [], close: async () => undefined };
  const server = http.createServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    up.seen.push(auth);
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      const ok = auth === `Bearer ${up.token}`;
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok, path: req.url, method: req.method, ...(bytes ? { bytes } : {}) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  up.port = (server.address() as { port: number }).port;
  up.close = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return up;
}
