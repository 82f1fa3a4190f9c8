import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { EXAMPLES, REPO } from './context';

/** The sandbox runtime, run unchanged by the baselines. */
export const RUNTIME_DIR = path.join(REPO, 'plugins/sock/runtime');
export const RUNTIME_SCRIPT = 'ol_serve.py'; // the entry the worker's sandboxes run (plugins/sock/runtime-location.ts)
export const PYTHON = '/usr/bin/python3';
/** The status fd the runtime writes "ready" to (stdio index 3 of the spawn). */
const STATUS_FD = 3;

/** The runtime's own argv, given where it sees its socket, code dir and runtime dir. */
export function runtimeArgv(where: { runtimeDir: string; socket: string; codeDir: string }): string[] {
  return [PYTHON, '-u', '-B', path.join(where.runtimeDir, RUNTIME_SCRIPT), '--socket', where.socket, '--code', where.codeDir, '--entry', 'f.py', '--handler', 'f', '--status-fd', String(STATUS_FD)];
}

export const ECHO_DIR = path.join(EXAMPLES, 'echo');

/**
 * A runtime process started by a baseline (bare, or under bwrap): its host
 * socket path, and `ready` once it wrote "ready" on the status fd.
 */
export class RuntimeProcess {
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  private stderr = '';

  private constructor(readonly child: ChildProcess, readonly socket: string) {
    child.stderr!.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-2000);
    });
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    this.ready = readReady(child.stdio[STATUS_FD] as Readable).then(
      () => undefined,
      (e: Error) => {
        throw new Error(`${path.basename(String(child.spawnfile))} did not become ready: ${e.message}; its stderr: ${this.stderr.trim() || '(empty)'}`);
      },
    );
  }

  static spawn(argv: string[], socket: string, env: NodeJS.ProcessEnv = {}): RuntimeProcess {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe', 'pipe'], env });
    return new RuntimeProcess(child, socket);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** SIGKILL and wait for the exit event. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** Resolves on the "ready" line, rejects on "error ..." or EOF. */
function readReady(pipe: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    pipe.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      pipe.destroy();
      if (line === 'ready') resolve();
      else reject(new Error(`status line ${JSON.stringify(line)}`));
    });
    pipe.on('end', () => reject(new Error('status pipe closed without "ready"')));
    pipe.on('error', reject);
  });
}

/**
 * The floor: the same runtime serving examples/echo straight on the host,
 * on a Unix socket, with no sandbox and no worker in front.
 */
export async function startBareRuntime(dir: string, codeDir = ECHO_DIR): Promise<RuntimeProcess> {
  fs.mkdirSync(dir, { recursive: true });
  const socket = path.join(dir, 'ol.sock');
  const rt = RuntimeProcess.spawn(runtimeArgv({ runtimeDir: RUNTIME_DIR, socket, codeDir }), socket, { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', HOME: dir });
  await rt.ready;
  return rt;
}
