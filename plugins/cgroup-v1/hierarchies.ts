import * as path from 'node:path';
import { cgroupDir, isWithin, isWritable, readCgroupMounts, readProcCgroups, type CgroupMount, type ProcCgroupEntry } from '../../core';

/** The v1 controllers a sandbox needs; each has its own hierarchy (cpu and cpuacct often share one). */
export const V1_CONTROLLERS = ['memory', 'pids', 'cpu', 'cpuacct', 'freezer'] as const;
export type V1Controller = (typeof V1_CONTROLLERS)[number];

/**
 * Controllers a sandbox is placed in when the host mounts them, for the
 * cgroup keys that need them (cpuset.*, io.* as blkio, hugetlb.*) and the
 * I/O figures (blkio). A host without one still runs sandboxes; only those
 * keys are refused there, naming what is missing.
 */
export const OPTIONAL_V1_CONTROLLERS = ['cpuset', 'blkio', 'hugetlb'] as const;
export type OptionalV1Controller = (typeof OPTIONAL_V1_CONTROLLERS)[number];
export type AnyV1Controller = V1Controller | OptionalV1Controller;

/** A directory per controller: the same cgroup seen in each hierarchy (optional ones only where mounted). */
export type HierarchyDirs = Record<V1Controller, string> & Partial<Record<OptionalV1Controller, string>>;

export interface Discovery {
  /** The worker's own cgroup in each hierarchy, when all required ones were found. */
  own?: HierarchyDirs;
  /** Why some required hierarchy could not be used. */
  problems: string[];
  /** Why an optional hierarchy is not used on this host. */
  missing: Partial<Record<OptionalV1Controller, string>>;
}

/**
 * Finds, for each controller, the v1 hierarchy mounted under `mountBase` and
 * the directory of the cgroup this process runs in there (/proc/self/cgroup).
 */
export async function discoverHierarchies(mountBase: string): Promise<Discovery> {
  const base = path.resolve(mountBase);
  const [mounts, entries] = await Promise.all([readCgroupMounts(), readProcCgroups()]);
  const problems: string[] = [];
  const missing: Discovery['missing'] = {};
  const own: Partial<Record<AnyV1Controller, string>> = {};
  for (const c of [...V1_CONTROLLERS, ...OPTIONAL_V1_CONTROLLERS]) {
    const found = await ownDir(c, base, mounts, entries);
    if (typeof found === 'object') own[c] = found.dir;
    else if ((OPTIONAL_V1_CONTROLLERS as readonly string[]).includes(c)) missing[c as OptionalV1Controller] = found;
    else problems.push(found);
  }
  return problems.length ? { problems, missing } : { own: own as HierarchyDirs, problems, missing };
}

/** The worker's writable directory in controller `c`'s hierarchy, or why there is none. */
async function ownDir(c: string, base: string, mounts: CgroupMount[], entries: ProcCgroupEntry[]): Promise<{ dir: string } | string> {
  const mount = mounts.filter((m) => m.fsType === 'cgroup' && m.superOptions.includes(c) && isWithin(m.mountPoint, base)).pop();
  const entry = entries.find((e) => e.controllers.includes(c));
  if (!mount || !entry) return `no cgroup v1 hierarchy with the ${c} controller is mounted under ${base}`;
  const dir = cgroupDir(mount, entry.path);
  return (await isWritable(dir)) ? { dir } : `${dir} is not writable`;
}

/** The same relative cgroup under each hierarchy's directory. */
export function childDirs(parent: HierarchyDirs, ...names: string[]): HierarchyDirs {
  return Object.fromEntries(Object.entries(parent).map(([c, dir]) => [c, path.join(dir, ...names)])) as HierarchyDirs;
}

/** Each directory once (co-mounted controllers such as cpu,cpuacct share one). */
export function distinctDirs(dirs: HierarchyDirs): string[] {
  return [...new Set(Object.values(dirs))];
}
