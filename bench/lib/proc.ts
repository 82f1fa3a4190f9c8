import * as fs from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on every Linux ABI Node runs on). */
const USER_HZ = 100;

/** utime + stime of a process (all its threads), in ms. */
export function processCpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may itself contain spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / USER_HZ;
}

/** Memory of one process from /proc/<pid>/smaps_rollup, in bytes. */
export interface ProcMemory {
  rss: number;
  pss: number;
  /** Private_Clean + Private_Dirty: what would be freed if this process alone went away. */
  uss: number;
}

export function processMemory(pid: number): ProcMemory {
  const text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { rss: kb('Rss'), pss: kb('Pss'), uss: kb('Private_Clean') + kb('Private_Dirty') };
}

/** Every descendant of `pid` (children, grandchildren, ...), via /proc/<pid>/task/<tid>/children. */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  const visit = (p: number) => {
    let tids: string[];
    try {
      tids = fs.readdirSync(`/proc/${p}/task`);
    } catch {
      return; // exited meanwhile
    }
    for (const tid of tids) {
      let kids = '';
      try {
        kids = fs.readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const k of kids.trim().split(/\s+/).filter(Boolean).map(Number)) {
        out.push(k);
        visit(k);
      }
    }
  };
  visit(pid);
  return out;
}

/**
 * The memory cgroup directory of a process: the v1 `memory` hierarchy's on
 * hybrid hosts, the unified one's on cgroup v2 hosts.
 */
export function memoryCgroupDir(pid: number): { dir: string; usageFile: string } | undefined {
  const lines = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
  const v1 = lines.map((l) => l.split(':')).find(([, ctrls]) => ctrls.split(',').includes('memory'));
  if (v1) {
    const dir = `/sys/fs/cgroup/memory${v1[2]}`;
    return { dir, usageFile: `${dir}/memory.usage_in_bytes` };
  }
  const v2 = lines.map((l) => l.split(':')).find(([id]) => id === '0');
  if (!v2) return undefined;
  const dir = `/sys/fs/cgroup${v2[2]}`;
  return fs.existsSync(`${dir}/memory.current`) ? { dir, usageFile: `${dir}/memory.current` } : undefined;
}
