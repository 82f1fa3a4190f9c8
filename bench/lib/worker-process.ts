import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client, Pool } from 'undici';
import { EXAMPLES, REPO, type BenchContext } from './context';
import { processCpuMs } from './proc';

const CLI = path.join(REPO, 'dist/core/cli/main.js');

export interface HttpReply {
  status: number;
  text: string;
}

/**
 * The worker under test, as users run it: `ol worker up` in a process of its
 * own (so its CPU is its own, and the load generator does not share its event
 * loop), with the embedded default config and examples/ as its registry.
 */
export class WorkerProcess {
  readonly url: string;
  private readonly admin: Client;

  private constructor(private readonly child: ChildProcess, readonly dir: string, readonly port: number) {
    this.url = `http://127.0.0.1:${port}`;
    this.admin = new Client('http://localhost', { socketPath: path.join(dir, 'ol.sock') });
  }

  static async start(dir: string, overrides: string[] = []): Promise<WorkerProcess> {
    const logFile = path.join(dir, 'worker.log');
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const args = [CLI, 'worker', 'up', '-p', dir, '-o', 'http.port=0', '-o', `registry-dir.dirs=[${EXAMPLES}]`, ...overrides.flatMap((o) => ['-o', o])];
    const log = fs.openSync(logFile, 'a');
    const child = spawn(process.execPath, args, { stdio: ['ignore', log, log, 'ipc'], env: { ...process.env, OL_LOG_FILE: logFile } });
    fs.closeSync(log);
    const ready = await new Promise<boolean>((resolve) => {
      child.once('message', (m) => resolve(m === 'ready'));
      child.once('exit', () => resolve(false));
    });
    if (!ready) {
      const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
      throw new Error(`the worker under test did not start; the end of ${logFile}:\n${tail}`);
    }
    child.disconnect();
    const probe = new WorkerProcess(child, dir, 0);
    const status = JSON.parse((await probe.adminCall('GET', '/status')).text);
    await probe.admin.close();
    return new WorkerProcess(child, dir, status.port);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** CPU time (user + system, all threads) the worker process has used so far. */
  cpuMs(): number {
    return processCpuMs(this.pid);
  }

  async adminCall(method: string, urlPath: string, body?: Buffer | string): Promise<HttpReply> {
    const res = await this.admin.request({ method: method as 'GET', path: urlPath, body });
    return { status: res.statusCode, text: await res.body.text() };
  }

  /** Instance counts from the admin API's /stats. */
  async instances(): Promise<Record<string, number>> {
    return JSON.parse((await this.adminCall('GET', '/stats')).text).scheduler.instances;
  }

  /** A connection pool to the public listener, closed at the end of the suite. */
  pool(ctx: BenchContext, connections: number): Pool {
    const pool = new Pool(this.url, { connections, pipelining: 1 });
    ctx.onCleanup(() => pool.close());
    return pool;
  }

  /** SIGTERM (the worker drains and destroys every sandbox), then wait for its exit. */
  async stop(): Promise<void> {
    await this.admin.close().catch(() => undefined);
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
  }
}

/** The suite's worker under test, started on first use and stopped at the suite's end. */
export function sharedWorker(ctx: BenchContext): Promise<WorkerProcess> {
  return ctx.shared('worker', async () => {
    const w = await WorkerProcess.start(path.join(ctx.tmpDir, 'w'));
    ctx.onCleanup(() => w.stop());
    return w;
  });
}
