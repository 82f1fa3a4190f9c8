import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_BASE_BINDS } from '../../plugins/sock/config';
import { ECHO_DIR, RUNTIME_DIR, RuntimeProcess, runtimeArgv } from './runtime-process';

export const BWRAP = '/usr/bin/bwrap';

/** Fails with what to do when bubblewrap is missing. */
export function bwrapVersion(): string {
  const r = spawnSync(BWRAP, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(`bubblewrap (${BWRAP}) is missing: the cold-start and churn baselines need it; install it with \`apt-get install -y bubblewrap\``);
  }
  return r.stdout.trim();
}

/**
 * bwrap arguments equivalent to a SOCK sandbox (plugins/sock/launcher-command.ts):
 * new mount, pid, ipc, uts and network namespaces, the same read-only base
 * binds, the runtime and code read-only, a writable scratch dir holding the
 * socket, a private /tmp, /proc and /dev, no capabilities. What it lacks:
 * the per-sandbox cgroup and the uid switch (bwrap only changes uid inside a
 * user namespace, which the SOCK sandbox does not use).
 */
export function bwrapArgs(scratch: string, codeDir: string): string[] {
  const base = DEFAULT_BASE_BINDS.flatMap((p) => {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      return [];
    }
    return st.isSymbolicLink() ? ['--symlink', fs.readlinkSync(p), p] : ['--ro-bind', p, p];
  });
  return [
    BWRAP,
    '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-net',
    '--die-with-parent', '--new-session', '--cap-drop', 'ALL',
    ...base,
    '--ro-bind', RUNTIME_DIR, '/runtime',
    '--ro-bind', codeDir, '/handler',
    '--bind', scratch, '/host',
    '--size', String(64 * 1024 * 1024), '--tmpfs', '/tmp',
    '--proc', '/proc',
    '--dev', '/dev',
    '--hostname', 'sandbox',
    '--remount-ro', '/',
    '--clearenv', '--setenv', 'PATH', '/usr/local/bin:/usr/bin:/bin', '--setenv', 'HOME', '/host', '--setenv', 'LANG', 'C.UTF-8',
    '--chdir', '/host',
    '--',
    ...runtimeArgv({ runtimeDir: '/runtime', socket: '/host/ol.sock', codeDir: '/handler' }),
  ];
}

/** Start the runtime serving echo under bwrap; resolves once it is ready. Remove `scratch` after kill(). */
export async function startBwrap(scratch: string, codeDir = ECHO_DIR): Promise<RuntimeProcess> {
  fs.mkdirSync(scratch, { recursive: true });
  const rt = RuntimeProcess.spawn(bwrapArgs(scratch, codeDir), path.join(scratch, 'ol.sock'));
  await rt.ready;
  return rt;
}
