import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { knobSpec, readNumber, readOptionalFile } from '../../core';
import { blkioProblem, ioMaxWrites, ioWeightWrites } from './blkio';
import { cpusetProblem, parentCpuset } from './cpuset';
import type { AnyV1Controller, HierarchyDirs, OptionalV1Controller, V1Controller } from './hierarchies';

/**
 * cgroup v2 keys in v1 terms. Each v2 key becomes an ordered list of writes
 * to v1 files; a key with no v1 equivalent is rejected with the reason, said
 * to the function author or the caller. The table is in README.md and
 * docs/cgroups.md.
 */
export interface V1Write {
  hierarchy: AnyV1Controller;
  file: string;
  value: string;
  /** Files with a line per device (blkio): the device this write sets, so undo puts back that line only. */
  device?: string;
  /** What clears the device's line when it had none before (the kernel lists only devices with a setting). */
  clear?: string;
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

/** The v1 hierarchy that holds each optional v2 controller's files. */
const OPTIONAL_HIERARCHY: Record<string, OptionalV1Controller> = { cpuset: 'cpuset', io: 'blkio', hugetlb: 'hugetlb' };

/** Files of v1 keys that some kernels lack. */
const NEEDS_FILE: Record<string, [V1Controller, string]> = {
  'cpu.idle': ['cpu', 'cpu.idle'],
  'cpu.max.burst': ['cpu', 'cpu.cfs_burst_us'],
  'memory.swap.max': ['memory', 'memory.memsw.limit_in_bytes'],
};

const unavailable = (why: string) => `not available on this host (cgroup v1): ${why}`;

/**
 * Why `key` cannot be applied by the v1 driver on this host, or undefined.
 * `dirs` are the scope's directories; `missing` says why an optional
 * hierarchy is not there.
 */
export function v1Unsupported(key: string, value: string, dirs: HierarchyDirs, missing: Partial<Record<OptionalV1Controller, string>> = {}): string | undefined {
  if (key === 'memory.oom.group' && value !== '0') return unavailable('v1 has no group OOM kill (the OOM killer picks one process); use 0 or a cgroup v2 host');
  if (NO_EQUIVALENT[key]) return unavailable(NO_EQUIVALENT[key]);
  const need = NEEDS_FILE[key];
  if (need && !existsSync(path.join(dirs[need[0]], need[1]))) return unavailable(`this kernel has no ${need[1]}`);
  const hierarchy = OPTIONAL_HIERARCHY[knobSpec(key)?.controller ?? ''];
  if (!hierarchy) return undefined;
  const dir = dirs[hierarchy];
  if (!dir) return unavailable(`${key} maps to the ${hierarchy} hierarchy, and ${missing[hierarchy] ?? `no ${hierarchy} hierarchy is mounted`}; mount it, or run the worker on a cgroup v2 host`);
  const why = hierarchy === 'cpuset' ? cpusetProblem(key, value, dir) : hierarchy === 'blkio' ? blkioProblem(key, value, dir) : hugetlbProblem(key, dir);
  return why && unavailable(why);
}

function hugetlbProblem(key: string, scopeDir: string): string | undefined {
  const file = hugetlbFile(key);
  return existsSync(path.join(scopeDir, file)) ? undefined : `this kernel has no ${file} (no huge pages of that size, or no reservation accounting)`;
}

/** hugetlb.2MB.max -> hugetlb.2MB.limit_in_bytes; hugetlb.2MB.rsvd.max -> hugetlb.2MB.rsvd.limit_in_bytes. */
const hugetlbFile = (key: string) => key.replace(/\.max$/, '.limit_in_bytes');

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
    case 'cpuset.cpus':
    case 'cpuset.mems':
      return [{ hierarchy: 'cpuset', file: key, value: value || (await parentCpuset(requireDir(dirs, 'cpuset'), key)) }];
    case 'io.max':
      return ioMaxWrites(value);
    case 'io.weight':
      return ioWeightWrites(value, requireDir(dirs, 'blkio'));
  }
  if (knobSpec(key)?.controller === 'hugetlb') return [{ hierarchy: 'hugetlb', file: hugetlbFile(key), value: bytes(value) }];
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
    const old = await readOptionalFile(path.join(hierarchyDir(dirs, w), w.file));
    if (old === undefined) continue;
    if (w.device === undefined) undo.unshift({ ...w, value: old });
    else undo.unshift({ ...w, value: old.split('\n').find((l) => l.startsWith(`${w.device} `)) ?? `${w.device} ${w.clear}` });
  }
  return undo;
}

/** The directory a write goes to. */
export function hierarchyDir(dirs: HierarchyDirs, w: V1Write): string {
  return requireDir(dirs, w.hierarchy);
}

/** An optional hierarchy's directory; it is there whenever v1Unsupported let a key needing it through. */
function requireDir(dirs: HierarchyDirs, h: AnyV1Controller): string {
  const dir = dirs[h];
  if (!dir) throw new Error(`cgroup v1: this host has no ${h} hierarchy (the key should have been refused when the function loaded)`);
  return dir;
}
