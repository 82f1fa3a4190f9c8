import * as path from 'node:path';
import {
  cgroupDir,
  makeCgroupDir,
  readCgroupMounts,
  readOptionalFile,
  readPids,
  readProcCgroups,
  writeCgroupFile,
  type CgroupMount,
  type Logger,
} from '../../core';

/**
 * The worker's cgroup v2 subtree (see README.md):
 *
 *   <own>/                    the cgroup the worker was started in (delegated to it)
 *   ├── <scope>-worker/       leaf: the worker process (and whatever else was in <own>)
 *   └── <scope>/              subtree_control: +memory +pids [+cpu]
 *       └── <sandbox>/        one leaf per sandbox, with its limits
 *
 * Enabling controllers for <own>'s children requires <own> to hold no process
 * (the "no internal processes" rule), hence the worker leaf. At the root
 * cgroup the rule does not apply: no leaf, and <scope> sits directly in it.
 */
export interface V2Subtree {
  /** The cgroup whose children we manage. */
  base: string;
  /** Where the worker moved itself, if it had to. */
  workerLeaf?: string;
  /** Holds the sandboxes. */
  scopeDir: string;
  /** The controllers enabled for the sandboxes. */
  controllers: string[];
}

export const REQUIRED_CONTROLLERS = ['memory', 'pids'];
/** cpu for the default limits; cpuset, io and hugetlb only for the cgroup keys functions may set (see core/util/cgroup-keys.ts). */
export const OPTIONAL_CONTROLLERS = ['cpu', 'cpuset', 'io', 'hugetlb'];
const WORKER_LEAF_SUFFIX = '-worker';
/** Rounds of moving processes out of <own> when some keep forking meanwhile. */
const MOVE_ROUNDS = 20;

/** The cgroup2 mount at mountPoint (the top one if several are stacked there). */
export async function findCgroup2Mount(mountPoint: string): Promise<CgroupMount | undefined> {
  const want = path.resolve(mountPoint);
  return (await readCgroupMounts()).filter((m) => m.fsType === 'cgroup2' && m.mountPoint === want).pop();
}

/** The directory of the cgroup2 cgroup this process runs in. */
export async function ownCgroupDir(mount: CgroupMount): Promise<string | undefined> {
  const entry = (await readProcCgroups()).find((e) => e.hierarchyId === 0 && e.controllers.length === 0);
  return entry && cgroupDir(mount, entry.path);
}

export async function controllersOf(dir: string): Promise<string[]> {
  return ((await readOptionalFile(path.join(dir, 'cgroup.controllers'))) ?? '').split(' ').filter(Boolean);
}

/** The real root cgroup is the only one without cgroup.type, and the only one exempt from the no-internal-processes rule. */
async function isRootCgroup(dir: string): Promise<boolean> {
  return (await readOptionalFile(path.join(dir, 'cgroup.type'))) === undefined;
}

async function subtreeControl(dir: string): Promise<string[]> {
  return ((await readOptionalFile(path.join(dir, 'cgroup.subtree_control'))) ?? '').split(' ').filter(Boolean);
}

/**
 * The cgroup to build under. A worker started from a process that an earlier
 * worker had moved into its `<scope>-worker` leaf (or a second init in the
 * same process) starts in that leaf; its base is the leaf's parent, already
 * set up as a base.
 */
async function baseFor(own: string): Promise<string> {
  if (!path.basename(own).endsWith(WORKER_LEAF_SUFFIX)) return own;
  const parent = path.dirname(own);
  const enabled = await subtreeControl(parent);
  return REQUIRED_CONTROLLERS.every((c) => enabled.includes(c)) ? parent : own;
}

/** Moves this process, and every process still directly in `from`, into the leaf. */
async function moveIntoLeaf(from: string, leaf: string, log: Logger): Promise<void> {
  const target = path.join(leaf, 'cgroup.procs');
  await writeCgroupFile(target, process.pid);
  for (let round = 0; round < MOVE_ROUNDS; round++) {
    const others = await readPids(path.join(from, 'cgroup.procs'));
    if (others.length === 0) return;
    log.info({ pids: others, from, to: leaf }, 'moving the other processes of the worker cgroup into its leaf, so controllers can be enabled');
    for (const pid of others) await writeCgroupFile(target, pid).catch(() => undefined);
  }
}

async function enableControllers(dir: string, wanted: string[], log: Logger): Promise<string[]> {
  const available = await controllersOf(dir);
  const missing = REQUIRED_CONTROLLERS.filter((c) => !available.includes(c));
  if (missing.length) throw new Error(`cgroup ${dir} cannot give its children the ${missing.join(', ')} controller(s) (it has: ${available.join(' ') || 'none'}); enable them in its parent's cgroup.subtree_control or delegate them to the worker`);
  const enabled: string[] = [];
  for (const c of wanted.filter((x) => available.includes(x))) {
    try {
      await writeCgroupFile(path.join(dir, 'cgroup.subtree_control'), `+${c}`);
      enabled.push(c);
    } catch (e) {
      if (REQUIRED_CONTROLLERS.includes(c)) throw new Error(`${(e as Error).message}; the cgroup may still hold processes (see its cgroup.procs) or be a threaded cgroup`);
      log.warn({ controller: c, dir, err: (e as Error).message }, 'cannot enable an optional controller; its limits will not apply');
    }
  }
  return enabled;
}

/**
 * Sets up the layout above for `scope` under the worker's own cgroup.
 * `cleanLeftovers` runs when <scope> already exists (a crashed worker's).
 */
export async function prepareSubtree(mount: CgroupMount, scope: string, log: Logger, cleanLeftovers: (scopeDir: string) => Promise<void>): Promise<V2Subtree> {
  const own = await ownCgroupDir(mount);
  if (!own) throw new Error('this process is in no cgroup2 cgroup (/proc/self/cgroup has no "0::" line)');
  const base = await baseFor(own);
  // Already in a worker leaf of base: stay there (nothing can be directly in base).
  let workerLeaf = base === own ? undefined : own;
  if (!workerLeaf && !(await isRootCgroup(base))) {
    workerLeaf = path.join(base, scope + WORKER_LEAF_SUFFIX);
    await makeCgroupDir(workerLeaf);
    await moveIntoLeaf(base, workerLeaf, log);
  }
  const wanted = [...REQUIRED_CONTROLLERS, ...OPTIONAL_CONTROLLERS];
  const controllers = await enableControllers(base, wanted, log);
  for (const c of wanted.filter((x) => !controllers.includes(x))) log.warn({ controller: c, base }, `the ${c} controller is not available: sandboxes get no ${c} limit`);
  const scopeDir = path.join(base, scope);
  if (!(await makeCgroupDir(scopeDir))) await cleanLeftovers(scopeDir);
  await enableControllers(scopeDir, controllers, log);
  return { base, workerLeaf, scopeDir, controllers };
}
