import * as path from 'node:path';

/** The N-API addon built by `make -C native` (native/addon/ol_fdpass.c): what Node itself lacks. */
export interface FdPassing {
  /**
   * Connect to a Unix stream socket, send `payload` with `fds` attached
   * (SCM_RIGHTS), and resolve with the answer up to its first newline (or
   * EOF). Runs off the event loop. Rejects with code ETIMEDOUT past `timeoutMs`.
   */
  request(socketPath: string, payload: Buffer, fds: number[], timeoutMs: number): Promise<Buffer>;
  /** pidfd_open(2): an fd that names the process, immune to pid reuse. */
  pidfdOpen(pid: number): number;
  pidfdSendSignal(pidfd: number, signal: number): void;
  /**
   * posix_spawn `file` (argv[0] = file) without copying the worker's page
   * tables (child_process.spawn forks: 20 to 45 ms here), with an empty
   * environment, stdin on /dev/null and one pipe per entry of `pipes` on the
   * child's fds 1, 2, 3...: 'out' the child writes, 'in' it reads. No other fd
   * is inherited. `fds[n]` is our end of the child's fd n (`fds[0]` is -1),
   * close-on-exec, ours to close. `onExit` runs once, on this thread, after
   * the child was reaped (code null when a signal killed it); until then its
   * pid cannot be reused. Throws an Error with `code` ENOENT, EACCES... when
   * the file cannot be executed (nothing is left open then).
   */
  spawn(file: string, args: string[], pipes: ('in' | 'out')[], onExit: (code: number | null, signal: number | null) => void): { pid: number; fds: number[] };
}

/** Compiled to dist/plugins/sock/: the addon `make -C native` builds in this checkout. */
export const ADDON_PATH = path.resolve(__dirname, '../../../native/build/ol_fdpass.node');

let loaded: FdPassing | undefined;

/** Load the addon once; the error says how to build it. */
export function fdPassing(): FdPassing {
  if (loaded) return loaded;
  try {
    loaded = require(ADDON_PATH) as FdPassing;
  } catch (e) {
    throw new Error(`cannot load the fd-passing addon ${ADDON_PATH} (${(e as Error).message}); build it with \`make -C native\` (npm start and npm test do)`);
  }
  return loaded;
}
