import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { Logger } from '../../core';
import { within } from './deadline';
import { ENV_FD } from './launcher-command';
import { OutputLog } from './output-log';
import { StatusLines } from './status-lines';

/** How the launcher ended: its exit code, or the signal that killed it, or why it never ran. */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the launcher could not be started at all (ENOENT, EACCES). */
  spawnError?: Error;
}

/** The result of waiting for one status line. */
export type StatusWait = { line: string } | { eof: true } | { timeout: true };

/**
 * One running ol-launcher (the sandbox's outermost process, our child).
 * Its exit arrives as a 'exit' event (SIGCHLD), never by polling.
 */
export class LauncherProcess {
  readonly exited: Promise<ExitStatus>;
  readonly output: OutputLog;
  private exit?: ExitStatus;
  private readonly status: StatusLines;

  private constructor(private readonly child: ChildProcess, log: Logger, fields: Record<string, unknown>) {
    this.output = new OutputLog(log, fields);
    this.output.attach(child.stdout!, 'stdout');
    this.output.attach(child.stderr!, 'stderr');
    const statusPipe = child.stdio[3] as Readable;
    this.status = new StatusLines(statusPipe);
    this.exited = new Promise((resolve) => {
      const done = (status: ExitStatus) => {
        this.exit ??= status;
        resolve(this.exit);
      };
      child.once('exit', (code, signal) => done({ code, signal }));
      child.once('error', (err) => {
        // 'error' without a pid: the spawn itself failed and no 'exit' may follow.
        if (child.pid === undefined) done({ code: null, signal: null, spawnError: err });
      });
    });
  }

  /** `envInput`: what the launcher reads on --env-fd (launcherEnvInput), written to stdio ENV_FD and closed. */
  static spawn(file: string, args: string[], log: Logger, fields: Record<string, unknown>, envInput?: Buffer): LauncherProcess {
    // stdio 3 is the status pipe; the environment is empty (the sandbox's comes from --setenv and --env-fd).
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe', 'pipe', ...(envInput ? ['pipe' as const] : [])], env: {} });
    if (envInput) {
      const input = child.stdio[ENV_FD] as Writable;
      // EPIPE: the launcher failed before reading it; its exit status and stderr say why.
      input.on('error', () => undefined);
      input.end(envInput, () => input.destroy());
    }
    return new LauncherProcess(child, log, fields);
  }

  get hostPid(): number | undefined {
    return this.child.pid;
  }

  /** Undefined while the launcher runs. */
  get exitStatus(): ExitStatus | undefined {
    return this.exit;
  }

  async nextStatusLine(timeoutMs: number): Promise<StatusWait> {
    const line = await within(this.status.next(), timeoutMs);
    if (line === 'expired') return { timeout: true };
    return line === null ? { eof: true } : { line };
  }

  /** Drop our end of the status pipe once the sandbox is ready. */
  closeStatus(): void {
    (this.child.stdio[3] as Readable).destroy();
  }

  /** Last resort when killing the cgroup did not end the launcher (it never joined it). */
  kill(): void {
    if (!this.exit) this.child.kill('SIGKILL');
  }
}
