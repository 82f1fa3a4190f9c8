import * as net from 'node:net';
import { constants } from 'node:os';
import { Readable } from 'node:stream';
import type { Logger } from '../../core';
import { within } from './deadline';
import { fdPassing } from './fd-passing';
import { ENV_FD, STATUS_FD } from './launcher-command';
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

/** A started launcher: its pid (none if it never ran), our read ends of its pipes, and its exit. */
export interface LauncherParts {
  pid?: number;
  stdout: Readable;
  stderr: Readable;
  /** The status pipe (the launcher's STATUS_FD). */
  status: Readable;
  exited: Promise<ExitStatus>;
}

/**
 * One running ol-launcher (the sandbox's outermost process, our child).
 * Started with the addon's posix_spawn, not child_process.spawn: that one
 * forks the worker (20 ms at 45 MB RSS, 44 ms at 466 MB), the largest cost
 * of a cold start. Its exit arrives through a pidfd (fd-passing.ts), never
 * by polling.
 */
export class LauncherProcess {
  readonly exited: Promise<ExitStatus>;
  readonly output: OutputLog;
  private exit?: ExitStatus;
  private readonly pid?: number;
  private readonly statusPipe: Readable;
  private readonly status: StatusLines;

  constructor(parts: LauncherParts, log: Logger, fields: Record<string, unknown>) {
    this.pid = parts.pid;
    this.output = new OutputLog(log, fields);
    this.output.attach(parts.stdout, 'stdout');
    this.output.attach(parts.stderr, 'stderr');
    this.statusPipe = parts.status;
    this.status = new StatusLines(parts.status);
    // Registered first, so exitStatus is set before anyone awaiting `exited` runs.
    this.exited = parts.exited.then((status) => (this.exit ??= status));
  }

  /** `envInput`: what the launcher reads on --env-fd (launcherEnvInput), written to its ENV_FD and closed. */
  static spawn(file: string, args: string[], log: Logger, fields: Record<string, unknown>, envInput?: Buffer): LauncherProcess {
    let settle!: (status: ExitStatus) => void;
    const exited = new Promise<ExitStatus>((resolve) => (settle = resolve));
    let started: { pid: number; fds: number[] };
    try {
      // fds 1, 2 and STATUS_FD the launcher writes, ENV_FD it reads; the environment is empty (the sandbox's comes from --setenv and --env-fd).
      started = fdPassing().spawn(file, args, ['out', 'out', 'out', ...(envInput ? ['in' as const] : [])], (code, signal) => settle({ code, signal: signalName(signal) }));
    } catch (err) {
      // ENOENT, EACCES...: it never ran; explainStartFailure reports spawnError.
      const nothing = { stdout: Readable.from([]), stderr: Readable.from([]), status: Readable.from([]) };
      return new LauncherProcess({ ...nothing, exited: Promise.resolve({ code: null, signal: null, spawnError: err as Error }) }, log, fields);
    }
    const { pid, fds } = started;
    if (envInput) writeAndClose(fds[ENV_FD], envInput);
    return new LauncherProcess({ pid, stdout: readEnd(fds[1]), stderr: readEnd(fds[2]), status: readEnd(fds[STATUS_FD]), exited }, log, fields);
  }

  get hostPid(): number | undefined {
    return this.pid;
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
    this.statusPipe.destroy();
  }

  /** Last resort when killing the cgroup did not end the launcher (it never joined it). */
  kill(): void {
    // The addon reaps in the turn that resolves `exited`, and our handler on it sets `exit` first: until then the pid is still ours.
    if (!this.exit && this.pid !== undefined) process.kill(this.pid, 'SIGKILL');
  }
}

function readEnd(fd: number): Readable {
  return new net.Socket({ fd, readable: true, writable: false });
}

function writeAndClose(fd: number, data: Buffer): void {
  const input = new net.Socket({ fd, readable: false, writable: true });
  // EPIPE: the launcher failed before reading it; its exit status and stderr say why.
  input.on('error', () => undefined);
  input.end(data, () => input.destroy());
}

function signalName(signal: number | null): NodeJS.Signals | null {
  if (signal === null) return null;
  return (Object.keys(constants.signals) as NodeJS.Signals[]).find((name) => constants.signals[name] === signal) ?? null;
}
