import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseCpuList, readOptionalFile, writeCgroupFile } from '../../core';

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

/** Why a sandbox cannot have these CPUs or nodes: they must be among the scope's (the kernel refuses others with EINVAL). */
export function cpusetProblem(key: string, value: string, scopeDir: string): string | undefined {
  const available = readFileSync(path.join(scopeDir, key === 'cpuset.cpus' ? 'cpuset.effective_cpus' : 'cpuset.effective_mems'), 'utf8').trim();
  const members = new Set(parseCpuList(available));
  const outside = parseCpuList(value).filter((n) => !members.has(n));
  const what = key === 'cpuset.cpus' ? 'CPUs' : 'memory nodes';
  return outside.length ? `${what} ${outside.join(',')} are not in this worker's cpuset (${what} available: ${available || 'none'})` : undefined;
}

/** v2's empty cpuset means "the parent's"; v1 would refuse to run anything with an empty one. */
export async function parentCpuset(sandboxDir: string, key: string): Promise<string> {
  return ((await readOptionalFile(path.join(path.dirname(sandboxDir), key))) ?? '').trim();
}
