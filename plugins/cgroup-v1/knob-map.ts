import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { knobSpec, readNumber, readOptionalFile } from '../../core';
import type { HierarchyDirs, V1Controller } from './hierarchies';

/**
 * cgroup v2 keys in v1 terms. Each v2 key becomes an ordered list of writes
 * to v1 files; a key with no v1 equivalent is rejected with the reason, said
 * to the function author or the caller. The table is in README.md and
 * docs/cgroups.md.
 */
export interface V1Write {
  hierarchy: V1Controller;
  file: string;
  value: string;
}

/** v1's "no limit" for *_in_bytes and cfs_quota_us. */
const UNLIMITED = '-1';

/** Keys with no v1 counterpart, and why. */
const NO_EQUIVALENT: Record<string, string> = {
  'memory.high': 'cgroup v1 has no memory throttling threshold (memory.high is v2 only); use memory.max',
  'memory.min': 'cgroup v1 has no hard memory protection (memory.min is v2 only); memory.low maps to v1 memory.soft_limit_in_bytes',
  'memory.swap.high': 'cgroup v1 has no swap throttling (v2 only)',
  'memory.zswap.max': 'cgroup v1 has no zswap limit (v2 only)',
  'cpu.weight.nice': 'cgroup v1 has no nice-style weight; use cpu.weight (v1 cpu.shares)',
};

/** Controllers whose v1 hierarchies this driver does not place sandboxes in. */
const UNMANAGED: Record<string, string> = {
  cpuset: 'cpuset',
  io: 'blkio',
  hugetlb: 'hugetlb',
};

/** Why `key` cannot be applied by the v1 driver on this host, or undefined. `dirs` are the scope's directories. */
export function v1Unsupported(key: string, value: string, dirs: HierarchyDirs): string | undefined {
  if (key === 'memory.oom.group' && value !== '0') return 'not available on this host (cgroup v1): v1 has no group OOM kill (the OOM killer picks one process); use 0 or a cgroup v2 host';
  if (NO_EQUIVALENT[key]) return `not available on this host (cgroup v1): ${NO_EQUIVALENT[key]}`;
  const spec = knobSpec(key);
  if (spec && UNMANAGED[spec.controller]) {
    return `not available on this host (cgroup v1): the cgroup-v1 driver does not place sandboxes in the ${UNMANAGED[spec.controller]} hierarchy; run the worker on a cgroup v2 host for ${spec.controller} keys`;
  }
  const needs: Record<string, [V1Controller, string]> = {
    'cpu.idle': ['cpu', 'cpu.idle'],
    'cpu.max.burst': ['cpu', 'cpu.cfs_burst_us'],
    'memory.swap.max': ['memory', 'memory.memsw.limit_in_bytes'],
  };
  const need = needs[key];
  if (need && !existsSync(path.join(dirs[need[0]], need[1]))) return `not available on this host (cgroup v1): this kernel has no ${need[1]}`;
  return undefined;
}

/** The v1 writes for one v2 key and value, in the order the kernel needs them. */
export async function v1Writes(key: string, value: string, dirs: HierarchyDirs): Promise<V1Write[]> {
  const bytes = (v: string) => (v === 'max' ? UNLIMITED : v);
  switch (key) {
    case 'memory.max':
      return memoryLimitWrites(dirs, value);
    case 'memory.low':
      return [{ hierarchy: 'memory', file: 'memory.soft_limit_in_bytes', value: bytes(value) }];
    case 'memory.swap.max': {
      // v1 limits memory+swap together: allow `value` of swap on top of the current memory limit.
      const mem = (await readNumber(path.join(dirs.memory, 'memory.limit_in_bytes'))) ?? 0;
      return [{ hierarchy: 'memory', file: 'memory.memsw.limit_in_bytes', value: value === 'max' ? UNLIMITED : String(mem + Number(value)) }];
    }
    case 'memory.oom.group':
      // v1 always kills a single process: 0 asks for exactly that (1 is refused by v1Unsupported).
      return [];
    case 'cpu.max': {
      const [quota, period] = value.split(' ');
      return [
        { hierarchy: 'cpu', file: 'cpu.cfs_period_us', value: period },
        { hierarchy: 'cpu', file: 'cpu.cfs_quota_us', value: quota === 'max' ? UNLIMITED : quota },
      ];
    }
    case 'cpu.max.burst':
      return [{ hierarchy: 'cpu', file: 'cpu.cfs_burst_us', value }];
    case 'cpu.weight':
      // v2's default weight 100 is v1's default 1024 shares; v1 accepts 2..262144.
      return [{ hierarchy: 'cpu', file: 'cpu.shares', value: String(Math.min(262144, Math.max(2, Math.round((Number(value) * 1024) / 100)))) }];
    case 'cpu.idle':
      return [{ hierarchy: 'cpu', file: 'cpu.idle', value }];
    case 'pids.max':
      return [{ hierarchy: 'pids', file: 'pids.max', value }];
  }
  throw new Error(`cgroup key ${key}: ${v1Unsupported(key, value, dirs) ?? 'no cgroup v1 equivalent'}`);
}

/** memory.limit_in_bytes never above memsw.limit_in_bytes: lowering writes memory first, raising memsw first. */
async function memoryLimitWrites(dirs: HierarchyDirs, value: string): Promise<V1Write[]> {
  const target = value === 'max' ? UNLIMITED : value;
  const current = (await readNumber(path.join(dirs.memory, 'memory.limit_in_bytes'))) ?? Infinity;
  const mem: V1Write = { hierarchy: 'memory', file: 'memory.limit_in_bytes', value: target };
  if (!existsSync(path.join(dirs.memory, 'memory.memsw.limit_in_bytes'))) return [mem];
  const memsw: V1Write = { hierarchy: 'memory', file: 'memory.memsw.limit_in_bytes', value: target };
  const lowering = value !== 'max' && Number(value) <= current;
  return lowering ? [mem, memsw] : [memsw, mem];
}

/** Current contents of the files `writes` touch, as writes that put them back (in reverse order). */
export async function undoWrites(writes: V1Write[], dirs: HierarchyDirs): Promise<V1Write[]> {
  const undo: V1Write[] = [];
  for (const w of writes) {
    // The raw text: an unlimited v1 value (9223372036854771712) does not survive a round trip through a JS number.
    const old = await readOptionalFile(path.join(dirs[w.hierarchy], w.file));
    if (old !== undefined) undo.unshift({ ...w, value: old });
  }
  return undo;
}
