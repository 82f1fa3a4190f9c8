import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { knobSpec, parseCpuList, readNumber, readOptionalFile } from '../../core';
import { scopeCpusetFile } from './cpuset';
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

/** A sandbox's CPUs or nodes must be among the worker's (the kernel refuses others with EINVAL). */
function cpusetProblem(key: string, value: string, scopeDir: string): string | undefined {
  const scope = parseCpuList(readFileSync(scopeCpusetFile(scopeDir, key as 'cpuset.cpus' | 'cpuset.mems'), 'utf8').trim());
  const outside = parseCpuList(value).filter((n) => !scope.includes(n));
  const what = key === 'cpuset.cpus' ? 'CPUs' : 'memory nodes';
  return outside.length ? `${what} ${outside.join(',')} are not in this worker's cpuset (${what} available: ${formatList(scope)})` : undefined;
}

function blkioProblem(key: string, value: string, scopeDir: string): string | undefined {
  const devices = key === 'io.max' ? value.split('\n').map((l) => l.split(' ')[0]) : /^\d+:\d+/.exec(value) ?? [];
  for (const dev of devices) if (!existsSync(`/sys/dev/block/${dev}`)) return `${dev} is not a block device on this host (see /proc/partitions for MAJOR:MINOR numbers)`;
  if (key !== 'io.weight') return undefined;
  const target = weightTarget(scopeDir);
  if (!target) return 'this kernel has neither blkio.bfq.weight (BFQ) nor blkio.weight (CFQ): no v1 I/O weights';
  if (devices.length && !/\[bfq\]/.test(readFileSync(`/sys/dev/block/${devices[0]}/queue/scheduler`, 'utf8'))) {
    return `device ${devices[0]} does not use the bfq I/O scheduler, so it takes no per-device weight (blkio.bfq.weight_device); use "io.weight: N" for all devices`;
  }
  return undefined;
}

function hugetlbProblem(key: string, scopeDir: string): string | undefined {
  const file = hugetlbFile(key);
  return existsSync(path.join(scopeDir, file)) ? undefined : `this kernel has no ${file} (no huge pages of that size, or no reservation accounting)`;
}

/** hugetlb.2MB.max -> hugetlb.2MB.limit_in_bytes; hugetlb.2MB.rsvd.max -> hugetlb.2MB.rsvd.limit_in_bytes. */
const hugetlbFile = (key: string) => key.replace(/\.max$/, '.limit_in_bytes');

/** v1 I/O weights: BFQ's 1..1000 (default 100, as v2's io.weight), or CFQ's 10..1000 (default 500) on old kernels. */
function weightTarget(dir: string): { file: string; deviceFile: string; scale: (w: number) => number } | undefined {
  if (existsSync(path.join(dir, 'blkio.bfq.weight'))) return { file: 'blkio.bfq.weight', deviceFile: 'blkio.bfq.weight_device', scale: (w) => clamp(w, 1, 1000) };
  if (existsSync(path.join(dir, 'blkio.weight'))) return { file: 'blkio.weight', deviceFile: 'blkio.weight_device', scale: (w) => clamp(Math.round(w * 5), 10, 1000) };
  return undefined;
}

const clamp = (n: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, n));

/** [0,1,2,5] -> "0-2,5". */
function formatList(ns: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < ns.length; i++) {
    let j = i;
    while (j + 1 < ns.length && ns[j + 1] === ns[j] + 1) j++;
    out.push(i === j ? String(ns[i]) : `${ns[i]}-${ns[j]}`);
    i = j;
  }
  return out.join(',') || 'none';
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
    case 'cpuset.cpus':
    case 'cpuset.mems':
      return [{ hierarchy: 'cpuset', file: key, value: value || (await parentCpuset(dirs, key)) }];
    case 'io.max':
      return ioMaxWrites(value);
    case 'io.weight':
      return ioWeightWrites(value, dirs);
  }
  if (knobSpec(key)?.controller === 'hugetlb') return [{ hierarchy: 'hugetlb', file: hugetlbFile(key), value: bytes(value) }];
  throw new Error(`cgroup key ${key}: ${v1Unsupported(key, value, dirs) ?? 'no cgroup v1 equivalent'}`);
}

/** v2's empty cpuset means "the parent's"; v1 would refuse to run anything with an empty one. */
async function parentCpuset(dirs: HierarchyDirs, key: string): Promise<string> {
  return ((await readOptionalFile(path.join(path.dirname(dirs.cpuset!), key))) ?? '').trim();
}

/** "8:0 rbps=N wbps=max" -> one blkio.throttle.*_device line per limit; v1 clears a limit with 0. */
function ioMaxWrites(value: string): V1Write[] {
  const files: Record<string, string> = { rbps: 'read_bps_device', wbps: 'write_bps_device', riops: 'read_iops_device', wiops: 'write_iops_device' };
  return value.split('\n').flatMap((line) => {
    const [device, ...pairs] = line.split(' ');
    return pairs.map((p) => {
      const [k, v] = p.split('=');
      return { hierarchy: 'blkio' as const, file: `blkio.throttle.${files[k]}`, value: `${device} ${v === 'max' ? 0 : v}`, device, clear: '0' };
    });
  });
}

/** "N" / "default N" -> the cgroup's weight; "MAJ:MIN N" -> that device's (BFQ clears it with "default", CFQ with 0). */
function ioWeightWrites(value: string, dirs: HierarchyDirs): V1Write[] {
  const target = weightTarget(dirs.blkio!);
  if (!target) throw new Error('cgroup key io.weight: this kernel has no v1 I/O weight file');
  const [first, second] = value.split(' ');
  if (second === undefined || first === 'default') return [{ hierarchy: 'blkio', file: target.file, value: String(target.scale(Number(second ?? first))) }];
  const clear = target.file === 'blkio.bfq.weight' ? 'default' : '0';
  return [{ hierarchy: 'blkio', file: target.deviceFile, value: `${first} ${target.scale(Number(second))}`, device: first, clear }];
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

/** The directory a write goes to; the hierarchy is there whenever v1Unsupported let its key through. */
export function hierarchyDir(dirs: HierarchyDirs, w: V1Write): string {
  const dir = dirs[w.hierarchy];
  if (!dir) throw new Error(`cgroup v1: no ${w.hierarchy} hierarchy on this host for ${w.file}`);
  return dir;
}
