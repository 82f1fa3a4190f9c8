import * as path from 'node:path';
import { cgroupDir, isWithin, isWritable, readCgroupMounts, readProcCgroups } from '../../core';

/** The v1 controllers a sandbox needs; each has its own hierarchy (cpu and cpuacct often share one). */
export const V1_CONTROLLERS = ['memory', 'pids', 'cpu', 'cpuacct', 'freezer'] as const;
export type V1Controller = (typeof V1_CONTROLLERS)[number];

/** A directory per controller: the same cgroup seen in each hierarchy. */
export type HierarchyDirs = Record<V1Controller, string>;

export interface Discovery {
  /** The worker's own cgroup in each hierarchy, when all were found. */
  own?: HierarchyDirs;
  /** Why some could not be used. */
  problems: string[];
}

/**
 * Finds, for each controller, the v1 hierarchy mounted under `mountBase` and
 * the directory of the cgroup this process runs in there (/proc/self/cgroup).
 */
export async function discoverHierarchies(mountBase: string): Promise<Discovery> {
  const base = path.resolve(mountBase);
  const [mounts, entries] = await Promise.all([readCgroupMounts(), readProcCgroups()]);
  const problems: string[] = [];
  const own: Partial<HierarchyDirs> = {};
  for (const c of V1_CONTROLLERS) {
    const mount = mounts.filter((m) => m.fsType === 'cgroup' && m.superOptions.includes(c) && isWithin(m.mountPoint, base)).pop();
    const entry = entries.find((e) => e.controllers.includes(c));
    if (!mount || !entry) {
      problems.push(`no cgroup v1 hierarchy with the ${c} controller is mounted under ${base}`);
      continue;
    }
    own[c] = cgroupDir(mount, entry.path);
    if (!(await isWritable(own[c]))) problems.push(`${own[c]} is not writable`);
  }
  return problems.length ? { problems } : { own: own as HierarchyDirs, problems };
}

/** The same relative cgroup under each hierarchy's directory. */
export function childDirs(parent: HierarchyDirs, ...names: string[]): HierarchyDirs {
  return Object.fromEntries(V1_CONTROLLERS.map((c) => [c, path.join(parent[c], ...names)])) as HierarchyDirs;
}

/** Each directory once (co-mounted controllers such as cpu,cpuacct share one). */
export function distinctDirs(dirs: HierarchyDirs): string[] {
  return [...new Set(Object.values(dirs))];
}
