import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LoadedFunction, Sandbox, SandboxAdditions, SandboxMount, Zygote } from '../../core';
import type { SockConfig } from './config';
import { fdPassing } from './fd-passing';
import { CODE_MOUNT, SCRATCH_MOUNT, SOCKET_NAME, STATUS_FD, envEntries, sandboxEnv } from './launcher-command';
import { CAPTURE_DIR } from './output-capture';
import { RUNTIME_MOUNT } from './runtime-location';
import type { SockSandbox } from './sandbox';

/**
 * Zygotes for the SOCK backend (see docs/zygotes.md).
 *
 * A zygote is a sandbox whose program is ol_zygote.py (root, capabilities
 * kept: --keep-caps) listening on /host/fork.sock. A forked instance is a
 * sandbox built by ol-launcher as usual (cgroups, namespaces, root with the
 * function's mounts) with no program (ol-launcher --hold); the worker passes the
 * namespace files of that sandbox and its cgroup.procs files to the zygote
 * (SCM_RIGHTS, native/addon), whose child joins them, starts a pid
 * namespace of its own, drops every privilege, stacks the leaf seccomp
 * filter and becomes the function's runtime (or a child zygote). The
 * sandbox's holder process waits on a FIFO for the instance's exit status,
 * so the sandbox ends (and says how) when the instance does.
 */

/** How a launch differs from a fresh instance's. */
export interface LaunchVariant {
  program?: string[];
  /** No program: the sandbox waits for an exit status on this FIFO (ol-launcher --hold). */
  hold?: string;
  keepCaps?: boolean;
  /** Mounts besides the customizers' (zygotes: the reaper binary). */
  mounts?: SandboxMount[];
  /** Forked instances: the holder does not get the customizers' variables (the forked runtime reads them from its env fd). */
  withoutCustomizerEnv?: boolean;
  /** Receives what the SandboxCustomizers added (env, sys.path, seccomp filter). */
  onAdditions?: (additions: SandboxAdditions) => void;
}

/**
 * ol-launcher, mounted read-only in every zygote's sandbox: each instance's
 * pid 1 execs it (`--reap`) instead of staying a copy of the zygote.
 */
const REAPER = '/.ol/reaper';
const reaperMount = (config: SockConfig): SandboxMount => ({ source: path.resolve(config.launcher), target: REAPER });

/** The parts of SockBackend this file uses. */
export interface ZygoteLauncher {
  launch(fn: LoadedFunction, variant: LaunchVariant): Promise<SockSandbox>;
}

const FORK_SOCKET = path.posix.join(SCRATCH_MOUNT, 'fork.sock');
/** Made by the launcher's holder (--hold), which ends with the status written there. */
const EXIT_FIFO = path.posix.join(SCRATCH_MOUNT, '.leaf-exit');
/** The namespaces a forked instance joins; mnt last (the zygote orders them too). */
const NAMESPACES = ['net', 'uts', 'ipc', 'mnt'];
/** The holder's pid inside its sandbox (the launcher's init is 1); it runs under the leaf's uid and seccomp filter. */
const HOLDER_PID = 2;
/** open(2)'s O_TMPFILE (__O_TMPFILE | O_DIRECTORY); Node does not export it. */
const O_TMPFILE = 0o20000000 | fs.constants.O_DIRECTORY;
/** A tmpfs: the environment of a forked instance (secrets among it) must never reach a disk. */
const ENV_FILE_DIR = '/dev/shm';

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

export async function startZygote(backend: ZygoteLauncher, config: SockConfig, template: LoadedFunction, modules: string[]): Promise<Zygote> {
  const program = [config.python, '-u', '-B', path.posix.join(RUNTIME_MOUNT, 'ol_zygote.py'), '--fork-socket', FORK_SOCKET, '--status-fd', String(STATUS_FD), '--reaper', REAPER, ...modules.flatMap((m) => ['--import', m])];
  const sandbox = await backend.launch({ ...template, role: 'zygote' }, { program, keepCaps: true, mounts: [reaperMount(config)] });
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
  return forkInto(backend, config, parent, fn, (additions) => ({
    runtime: runtimeArgs(fn, additions),
    seccomp: additions.seccompFilter ? fs.readFileSync(additions.seccompFilter).toString('base64') : null,
  }));
}

/**
 * A child zygote (SOCK's tree): forked from `parent` into a sandbox of its
 * own (the template's cgroup and root, with all its packages mounted), it
 * imports only the modules the parent lacks and serves forks in turn. It
 * keeps the parent's privileges and seccomp filter (the zygote tier), and
 * lives in a pid namespace nested in the parent's: it ends with its parent.
 */
export async function forkChildZygote(backend: ZygoteLauncher, config: SockConfig, parent: Zygote, template: LoadedFunction, modules: string[]): Promise<Zygote> {
  const imports = modules.filter((m) => !parent.modules.includes(m));
  const sandbox = await forkInto(backend, config, parent, { ...template, role: 'zygote' }, (additions) => ({
    zygote: { imports, paths: additions.pythonPaths ?? [], fork_socket: FORK_SOCKET },
    seccomp: null,
  }));
  try {
    const server = await forkedServerPid(sandbox);
    return new SockZygote(sandbox, modules, server, fs.readdirSync(`/proc/${server}/fd`).map(Number));
  } catch (e) {
    await sandbox.destroy('the child zygote exited as it started');
    throw e;
  }
}

/**
 * Build a sandbox for `fn` whose program is only a holder, and ask `parent`
 * to fork into it: `what` says what the forked process becomes (the
 * function's runtime, or a child zygote). Resolves once it answered ready.
 */
async function forkInto(backend: ZygoteLauncher, config: SockConfig, parent: Zygote, fn: LoadedFunction, what: (additions: SandboxAdditions) => Record<string, unknown>): Promise<SockSandbox> {
  if (!(parent instanceof SockZygote)) throw new Error('forkFrom: the parent is not a zygote of the SOCK backend');
  let additions: SandboxAdditions = {};
  const mounts = fn.role === 'zygote' ? [reaperMount(config)] : [];
  const sandbox = await backend.launch(fn, { hold: EXIT_FIFO, mounts, withoutCustomizerEnv: true, onAdditions: (a) => (additions = a) });
  const fds: number[] = [];
  try {
    for (const ns of NAMESPACES) fds.push(fs.openSync(`/proc/${sandbox.pid}/ns/${ns}`, 'r'));
    for (const file of sandbox.cgroup.procsFiles) fds.push(fs.openSync(file, fs.constants.O_WRONLY));
    fds.push(envFile({ ...sandboxEnv(fn), ...additions.env }));
    const request = {
      ns: NAMESPACES,
      cgroups: sandbox.cgroup.procsFiles.length,
      uid: config.uid,
      gid: config.gid,
      exit_fifo: EXIT_FIFO,
      stdio_from: HOLDER_PID,
      ...what(additions),
    };
    const answer = (await fdPassing().request(parent.forkSocket, Buffer.from(JSON.stringify(request)), fds, config.start_timeout_ms)).toString('utf8').trim();
    if (answer !== 'ready') throw new Error(answer ? answer.replace(/^error /, '') : 'the zygote closed the connection without an answer (it died?)');
    return sandbox;
  } catch (e) {
    await sandbox.destroy('the fork from its zygote failed');
    throw new Error(`cannot fork ${fn.role === 'zygote' ? 'a child zygote' : `function ${fn.name}`} from its zygote (sandbox ${parent.sandbox.id}): ${(e as Error).message}`);
  } finally {
    for (const fd of fds) fs.closeSync(fd);
  }
}

/**
 * The host pid of a forked fork server: in its sandbox's cgroup, the pid 2
 * of the shallowest pid namespace below the sandbox's own (whose pid 2 is the
 * holder). Deeper ones are its spare's.
 */
async function forkedServerPid(sandbox: SockSandbox): Promise<number> {
  let best: { pid: number; depth: number } | undefined;
  for (const pid of await sandbox.cgroup.pids()) {
    const nspid = /^NSpid:\s+(.*)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1].trim().split(/\s+/) ?? [];
    if (nspid.at(-1) === '2' && nspid.length > 2 && nspid.length < (best?.depth ?? Infinity)) best = { pid, depth: nspid.length };
  }
  if (!best) throw new Error(`the child zygote is not running in sandbox ${sandbox.id} (it exited?)`);
  return best.pid;
}

/**
 * The forked instance's environment in an unnamed file on a tmpfs, sent as
 * the request's last fd: only the instance reads it, after the fork. In the
 * request itself it would pass through the zygote's memory, and every later
 * fork, whatever its function and role, would inherit a copy of the values.
 */
function envFile(env: Record<string, string>): number {
  const entries = envEntries(env);
  const fd = fs.openSync(ENV_FILE_DIR, O_TMPFILE | fs.constants.O_RDWR, 0o600);
  try {
    fs.writeSync(fd, entries);
    return fd;
  } catch (e) {
    fs.closeSync(fd);
    throw e;
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
