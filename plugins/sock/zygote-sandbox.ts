import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LoadedFunction, Sandbox, SandboxAdditions, Zygote } from '../../core';
import type { SockConfig } from './config';
import { fdPassing } from './fd-passing';
import { CODE_MOUNT, SCRATCH_MOUNT, SOCKET_NAME, STATUS_FD, sandboxEnv } from './launcher-command';
import { CAPTURE_DIR } from './output-capture';
import { RUNTIME_MOUNT } from './runtime-location';
import type { SockSandbox } from './sandbox';

/**
 * Zygotes for the SOCK backend (see docs/zygotes.md).
 *
 * A zygote is a sandbox whose program is ol_zygote.py (root, capabilities
 * kept: --keep-caps) listening on /host/fork.sock. A forked instance is a
 * sandbox built by ol-launcher as usual (cgroups, namespaces, root with the
 * function's mounts) whose program is only a holder; the worker passes the
 * namespace files of that sandbox and its cgroup.procs files to the zygote
 * (SCM_RIGHTS, native/addon), whose child joins them, starts a pid
 * namespace of its own, drops every privilege, stacks the leaf seccomp
 * filter and becomes the function's runtime. The holder waits on a FIFO for
 * the instance's exit status, so the sandbox ends (and says how) when the
 * instance does.
 */

/** How a launch differs from a fresh instance's. */
export interface LaunchVariant {
  program?: string[];
  keepCaps?: boolean;
  /** Receives what the SandboxCustomizers added (env, sys.path, seccomp filter). */
  onAdditions?: (additions: SandboxAdditions) => void;
}

/** The parts of SockBackend this file uses. */
export interface ZygoteLauncher {
  launch(fn: LoadedFunction, variant: LaunchVariant): Promise<SockSandbox>;
}

const FORK_SOCKET = path.posix.join(SCRATCH_MOUNT, 'fork.sock');
const EXIT_FIFO = path.posix.join(SCRATCH_MOUNT, '.leaf-exit');
/** The namespaces a forked instance joins; mnt last (the zygote orders them too). */
const NAMESPACES = ['net', 'uts', 'ipc', 'mnt'];
/**
 * The program of a forked instance's sandbox: make the exit FIFO, say ready,
 * then wait for the instance's exit status and end with it. Tiny, and it
 * runs under the leaf's uid and seccomp filter like the instance.
 */
const HOLDER = `mkfifo -m 600 ${EXIT_FIFO} && echo ready >&${STATUS_FD} && exec ${STATUS_FD}>&- && read code < ${EXIT_FIFO}; exit \${code:-0}`;
/** The holder's pid inside its sandbox (the launcher's init is 1). */
const HOLDER_PID = 2;

class SockZygote implements Zygote {
  constructor(
    readonly sandbox: Sandbox,
    readonly modules: string[],
    readonly serverPid: number,
    readonly baselineFds: number[],
  ) {}

  /** The fork socket, reached from the host through the server's root (its sandbox's mount namespace). */
  get forkSocket(): string {
    return `/proc/${this.serverPid}/root${FORK_SOCKET}`;
  }
}

/** The first child (the program) of a sandbox init with host pid `initPid`. */
function programPid(initPid: number): number {
  const kids = fs.readFileSync(`/proc/${initPid}/task/${initPid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  if (!kids.length) throw new Error(`the sandbox init (host pid ${initPid}) has no program process; it exited`);
  return kids[0];
}

export async function startZygote(backend: ZygoteLauncher, template: LoadedFunction, modules: string[], python: string): Promise<Zygote> {
  const program = [python, '-u', '-B', path.posix.join(RUNTIME_MOUNT, 'ol_zygote.py'), '--fork-socket', FORK_SOCKET, '--status-fd', String(STATUS_FD), ...modules.flatMap((m) => ['--import', m])];
  const sandbox = await backend.launch({ ...template, role: 'zygote' }, { program, keepCaps: true });
  try {
    const server = programPid(sandbox.pid);
    const fds = fs.readdirSync(`/proc/${server}/fd`).map(Number);
    return new SockZygote(sandbox, modules, server, fds);
  } catch (e) {
    await sandbox.destroy('the zygote exited as it started');
    throw e;
  }
}

export async function forkFromZygote(backend: ZygoteLauncher, config: SockConfig, parent: Zygote, fn: LoadedFunction): Promise<Sandbox> {
  if (!(parent instanceof SockZygote)) throw new Error('forkFrom: the parent is not a zygote of the SOCK backend');
  let additions: SandboxAdditions = {};
  const sandbox = await backend.launch(fn, { program: ['/bin/sh', '-c', HOLDER], onAdditions: (a) => (additions = a) });
  const fds: number[] = [];
  try {
    for (const ns of NAMESPACES) fds.push(fs.openSync(`/proc/${sandbox.pid}/ns/${ns}`, 'r'));
    for (const file of sandbox.cgroup.procsFiles) fds.push(fs.openSync(file, fs.constants.O_WRONLY));
    const request = {
      ns: NAMESPACES,
      cgroups: sandbox.cgroup.procsFiles.length,
      runtime: runtimeArgs(fn, additions),
      env: { ...sandboxEnv(fn), ...additions.env },
      uid: config.uid,
      gid: config.gid,
      seccomp: additions.seccompFilter ? fs.readFileSync(additions.seccompFilter).toString('base64') : null,
      exit_fifo: EXIT_FIFO,
      stdio_from: HOLDER_PID,
    };
    const answer = (await fdPassing().request(parent.forkSocket, Buffer.from(JSON.stringify(request)), fds, config.start_timeout_ms)).toString('utf8').trim();
    if (answer !== 'ready') throw new Error(answer ? answer.replace(/^error /, '') : 'the zygote closed the connection without an answer (it died?)');
    return sandbox;
  } catch (e) {
    await sandbox.destroy('the fork from its zygote failed');
    throw new Error(`cannot fork function ${fn.name} from its zygote (sandbox ${parent.sandbox.id}): ${(e as Error).message}`);
  } finally {
    for (const fd of fds) fs.closeSync(fd);
  }
}

/** ol_runtime.py's arguments for the forked instance (as launcher-command's runtimeCommand). */
function runtimeArgs(fn: LoadedFunction, additions: SandboxAdditions): string[] {
  return [
    '--socket', path.posix.join(SCRATCH_MOUNT, SOCKET_NAME),
    '--code', CODE_MOUNT,
    '--entry', fn.config.entry,
    '--handler', fn.config.handler,
    '--capture-dir', path.posix.join(SCRATCH_MOUNT, CAPTURE_DIR),
    ...(additions.pythonPaths ?? []).flatMap((p) => ['--path', p]),
  ];
}
