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
