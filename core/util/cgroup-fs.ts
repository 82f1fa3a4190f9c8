import * as path from 'node:path';
import { access, constants, mkdir, readFile, readdir, rmdir, writeFile } from 'node:fs/promises';
import { Backoff } from './wait-for-file';

/**
 * What the cgroup v1 and v2 drivers share: their config section, reading and
 * writing cgroup files with errors that name the file, finding the worker's
 * own cgroups (/proc/self/cgroup, /proc/self/mountinfo) and removing a cgroup
 * that may still be busy for a moment.
 */

export const MIB = 1024 * 1024;
/** The CFS period both drivers use: quota = cpuPercent% of it. */
export const CPU_PERIOD_USEC = 100_000;
/** The kernel rejects a CFS quota below 1 ms. */
const MIN_CPU_QUOTA_USEC = 1000;

export function cpuQuotaUsec(cpuPercent: number, periodUsec = CPU_PERIOD_USEC): number {
  return Math.max(MIN_CPU_QUOTA_USEC, Math.round((cpuPercent * periodUsec) / 100));
}

/** The config section of a cgroup driver plugin, defaults applied. */
export interface CgroupDriverConfig {
  mount: string;
  slow_ms: number;
  give_up_ms: number;
}

export const CGROUP_DRIVER_DEFAULTS: CgroupDriverConfig = { mount: '/sys/fs/cgroup', slow_ms: 100, give_up_ms: 10000 };

export const cgroupDriverConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    mount: { type: 'string', pattern: '^/', default: CGROUP_DRIVER_DEFAULTS.mount, description: 'where the cgroup filesystem(s) are mounted' },
    slow_ms: {
      type: 'integer',
      minimum: 0,
      default: CGROUP_DRIVER_DEFAULTS.slow_ms,
      description: 'a cgroup operation taking longer than this is logged as a warning with its duration',
    },
    give_up_ms: {
      type: 'integer',
      minimum: 100,
      default: CGROUP_DRIVER_DEFAULTS.give_up_ms,
      description: 'how long to wait for the kernel (freeze, kill, removal) before failing with an error',
    },
  },
};

function errCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code;
}

/** An error from a cgroup file operation, saying which file and keeping the errno code. */
export class CgroupFileError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'CgroupFileError';
  }
}

export async function readCgroupFile(file: string): Promise<string> {
  return (await readFile(file, 'utf8')).trim();
}

/** The file's trimmed content, or undefined when this kernel does not have it. */
export async function readOptionalFile(file: string): Promise<string | undefined> {
  try {
    return await readCgroupFile(file);
  } catch (e) {
    if (errCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}

export async function writeCgroupFile(file: string, value: string | number): Promise<void> {
  try {
    await writeFile(file, String(value));
  } catch (e) {
    const code = errCode(e);
    throw new CgroupFileError(`cannot write "${value}" to ${file}: ${code ?? (e as Error).message}`, code);
  }
}

/** Writes a file only some kernels or configurations have; false when it is absent. */
export async function writeOptionalFile(file: string, value: string | number): Promise<boolean> {
  try {
    await writeCgroupFile(file, value);
    return true;
  } catch (e) {
    if ((e as CgroupFileError).code === 'ENOENT') return false;
    throw e;
  }
}

/** Parses "key value" lines (memory.events, pids.events, cpu.stat, cgroup.events, memory.oom_control). */
export function parseFlatKeyed(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined) out[key] = value;
  }
  return out;
}

export async function readNumber(file: string): Promise<number | undefined> {
  const text = await readOptionalFile(file);
  const n = Number(text);
  return text === undefined || text === '' || Number.isNaN(n) ? undefined : n;
}

export async function readKey(file: string, key: string): Promise<number | undefined> {
  const text = await readOptionalFile(file);
  const value = text === undefined ? undefined : parseFlatKeyed(text)[key];
  return value === undefined ? undefined : Number(value);
}

/** Pids listed in a cgroup.procs file (empty when the cgroup is gone). */
export async function readPids(procsFile: string): Promise<number[]> {
  const text = await readOptionalFile(procsFile);
  return (text ?? '').split('\n').filter(Boolean).map(Number);
}

/** One line of /proc/<pid>/cgroup: `0::/path` for v2, `4:memory:/path` for a v1 hierarchy. */
export interface ProcCgroupEntry {
  hierarchyId: number;
  /** Controllers of a v1 hierarchy (and `name=...` for named ones); empty for v2. */
  controllers: string[];
  path: string;
}

export async function readProcCgroups(pid: number | 'self' = 'self'): Promise<ProcCgroupEntry[]> {
  const text = await readFile(`/proc/${pid}/cgroup`, 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, controllers, ...rest] = line.split(':');
      return { hierarchyId: Number(id), controllers: controllers ? controllers.split(',') : [], path: rest.join(':') };
    });
}

/** A cgroup filesystem mount, from /proc/self/mountinfo. */
export interface CgroupMount {
  mountPoint: string;
  /** Which cgroup of the hierarchy is mounted there (not "/" when mounted from inside a cgroup namespace). */
  root: string;
  fsType: 'cgroup' | 'cgroup2';
  superOptions: string[];
}

const unescapeMountField = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export async function readCgroupMounts(): Promise<CgroupMount[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const mounts: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!post) continue;
    const fields = pre.split(' ');
    const [fsType, , superOpts] = post.split(' ');
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    mounts.push({ mountPoint: unescapeMountField(fields[4]), root: unescapeMountField(fields[3]), fsType, superOptions: (superOpts ?? '').split(',') });
  }
  return mounts;
}

/** The directory of cgroup `cgroupPath` (as /proc/<pid>/cgroup names it) under `mount`. */
export function cgroupDir(mount: CgroupMount, cgroupPath: string): string {
  const rel = mount.root !== '/' && (cgroupPath === mount.root || cgroupPath.startsWith(mount.root + '/')) ? cgroupPath.slice(mount.root.length) : cgroupPath;
  return path.join(mount.mountPoint, rel);
}

/** Whether this process may write `file` (a cgroup directory or control file). */
export async function isWritable(file: string): Promise<boolean> {
  return access(file, constants.W_OK).then(
    () => true,
    () => false,
  );
}

/** True when `dir` is `base` or lies below it. */
export function isWithin(dir: string, base: string): boolean {
  const rel = path.relative(base, dir);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Sandbox and scope names become directory names: one plain path component. */
export function checkCgroupName(name: string, what: string): void {
  if (!NAME.test(name) || name.startsWith('cgroup.')) {
    throw new Error(`invalid ${what} "${name}": use letters, digits, '.', '_' and '-' (not starting with '.', '-' or "cgroup."), at most 128 characters`);
  }
}

/** Creates a cgroup directory; false when it already existed. */
export async function makeCgroupDir(dir: string): Promise<boolean> {
  try {
    await mkdir(dir);
    return true;
  } catch (e) {
    if (errCode(e) === 'EEXIST') return false;
    throw new CgroupFileError(`cannot create cgroup ${dir}: ${errCode(e) ?? (e as Error).message}`, errCode(e));
  }
}

/** Every cgroup below `dir`, children before their parents (the order rmdir needs); [] when dir is absent. */
export async function descendantCgroups(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if (errCode(e) === 'ENOENT') return [];
    throw e;
  }
  const out: string[] = [];
  for (const e of entries.filter((x) => x.isDirectory())) {
    const child = path.join(dir, e.name);
    out.push(...(await descendantCgroups(child)), child);
  }
  return out;
}

/**
 * rmdir a cgroup that should be empty. The kernel answers EBUSY while member
 * processes are still exiting, so on EBUSY this waits with `waitEmpty` (the
 * driver's way to learn the group emptied: an event on v2, a poll on v1) and
 * retries with backoff, because rmdir can stay busy a moment after the group
 * reports empty. Gives up with a clear error after giveUpMs. Absent is fine.
 */
export async function removeCgroupDir(dir: string, waitEmpty: (timeoutMs: number) => Promise<unknown>, giveUpMs: number): Promise<void> {
  const started = performance.now();
  const backoff = new Backoff(1, 100);
  for (;;) {
    try {
      await rmdir(dir);
      return;
    } catch (e) {
      const code = errCode(e);
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY') throw new CgroupFileError(`cannot remove cgroup ${dir}: ${code ?? (e as Error).message}`, code);
    }
    const left = giveUpMs - (performance.now() - started);
    if (left <= 0) break;
    // A failed wait (timeout, or the group vanished) is settled by the next rmdir or the bound.
    await waitEmpty(left).catch(() => undefined);
    await backoff.wait(giveUpMs - (performance.now() - started));
  }
  throw new CgroupFileError(
    `cannot remove cgroup ${dir}: still busy after ${giveUpMs} ms (it still holds processes or child cgroups; kill its processes first, and look for ones stuck in D state)`,
    'EBUSY',
  );
}
