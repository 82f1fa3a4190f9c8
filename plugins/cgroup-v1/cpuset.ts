import * as path from 'node:path';
import { readOptionalFile, writeCgroupFile } from '../../core';

/**
 * A new v1 cpuset cgroup starts with empty cpuset.cpus and cpuset.mems, and
 * no process can join it until both are set (the write to cgroup.procs fails
 * with ENOSPC). The scope takes its parent's CPUs and memory nodes, and sets
 * cgroup.clone_children so the kernel copies them into every sandbox cgroup
 * made below it: creating a sandbox costs no extra writes.
 */
export async function prepareCpusetScope(scopeDir: string): Promise<void> {
  const parent = path.dirname(scopeDir);
  for (const file of ['cpuset.cpus', 'cpuset.mems']) {
    const value = (await readOptionalFile(path.join(parent, file)))?.trim();
    if (!value) throw new Error(`cgroup v1 cpuset: ${path.join(parent, file)} is empty, so no sandbox could run in the cpuset hierarchy; give that cgroup CPUs and memory nodes, or unmount the cpuset hierarchy`);
    await writeCgroupFile(path.join(scopeDir, file), value);
  }
  await writeCgroupFile(path.join(scopeDir, 'cgroup.clone_children'), 1);
}

/** The CPUs (or memory nodes) a sandbox may be given: those of the scope. */
export function scopeCpusetFile(scopeDir: string, key: 'cpuset.cpus' | 'cpuset.mems'): string {
  return path.join(scopeDir, key === 'cpuset.cpus' ? 'cpuset.effective_cpus' : 'cpuset.effective_mems');
}
