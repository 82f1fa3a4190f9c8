import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { Client, Pool, type Dispatcher } from 'undici';
import { DEFAULT_CONFIG_FILE } from '../../core/config/load-config';
import { Worker } from '../../core/lifecycle/worker';

export const REPO = path.resolve(__dirname, '../../..');
export const EXAMPLES = path.join(REPO, 'examples');
/** Functions used only by the tests (they inspect their own sandbox). */
export const TEST_FUNCTIONS = path.join(REPO, 'test/functions');

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

export interface RunningWorker {
  worker: Worker;
  dir: string;
  /** Call the public listener. */
  call(method: string, urlPath: string, body?: string | Buffer, headers?: Record<string, string>): Promise<Reply>;
  run(name: string, event?: unknown): Promise<Reply>;
  /** Call the admin API on the Unix socket. */
  admin(method: string, urlPath: string, body?: string | Buffer): Promise<Reply>;
  stop(): Promise<void>;
}

/** One HTTP request through an undici client; the body is parsed as JSON when it is JSON. */
export async function sendRequest(client: Dispatcher, method: string, urlPath: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await client.request({ method: method as any, path: urlPath, body, headers });
  const text = await res.body.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

/** Start a real worker in this process on a random port with the examples and test functions as its registry. */
export async function startWorker(overrides: string[] = [], configFile: string = DEFAULT_CONFIG_FILE): Promise<RunningWorker> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'olw-'));
  const worker = await Worker.start({
    dir,
    configFile,
    overrides: ['http.port=0', `registry-dir.dirs=[${EXAMPLES}, ${TEST_FUNCTIONS}]`, ...overrides],
    logger: pino({ level: process.env.OL_TEST_LOG ?? 'silent' }),
  });
  const pub = new Pool(`http://127.0.0.1:${worker.port}`, { connections: 64 });
  const adm = new Client('http://localhost', { socketPath: worker.paths.adminSocket });
  return {
    worker,
    dir,
    call: (m, p, b, h) => sendRequest(pub, m, p, b, h),
    run: (name, event) => sendRequest(pub, 'POST', `/run/${name}`, event === undefined ? '' : JSON.stringify(event)),
    admin: (m, p, b) => sendRequest(adm, m, p, b),
    async stop() {
      await pub.close();
      await adm.close();
      await worker.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Lines of /proc/self/mountinfo whose mount point is at or below `dir`. */
export function mountsUnder(dir: string): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => {
      const mp = l.split(' ')[4];
      return mp && (mp === dir || mp.startsWith(dir + '/'));
    });
}

/** Every cgroup directory (any v1 hierarchy, or v2) whose name contains `scope`. */
export function cgroupsNamed(scope: string): string[] {
  const found: string[] = [];
  const walk = (d: string, depth: number) => {
    if (depth > 6) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const p = path.join(d, e.name);
      if (e.name.includes(scope)) found.push(p);
      else walk(p, depth + 1);
    }
  };
  walk('/sys/fs/cgroup', 0);
  return found;
}
