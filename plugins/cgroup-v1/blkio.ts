import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { V1Write } from './knob-map';

/**
 * io.max and io.weight in the v1 blkio hierarchy. Its per-device files list
 * one `MAJ:MIN N` line per device that has a setting, so each write names
 * its device (undo puts back that line, or clears it).
 */

const THROTTLE_FILES: Record<string, string> = { rbps: 'read_bps_device', wbps: 'write_bps_device', riops: 'read_iops_device', wiops: 'write_iops_device' };

/** v1 I/O weights: BFQ's 1..1000 (default 100, as v2's io.weight), or CFQ's 10..1000 (default 500) on kernels before 5.0. */
function weightTarget(dir: string): { file: string; deviceFile: string; clear: string; scale: (w: number) => number } | undefined {
  if (existsSync(path.join(dir, 'blkio.bfq.weight'))) return { file: 'blkio.bfq.weight', deviceFile: 'blkio.bfq.weight_device', clear: 'default', scale: (w) => clamp(w, 1, 1000) };
  if (existsSync(path.join(dir, 'blkio.weight'))) return { file: 'blkio.weight', deviceFile: 'blkio.weight_device', clear: '0', scale: (w) => clamp(Math.round(w * 5), 10, 1000) };
  return undefined;
}

const clamp = (n: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, n));

/** Why an io key cannot be applied here (`scopeDir`: the scope's blkio directory), or undefined. */
export function blkioProblem(key: string, value: string, scopeDir: string): string | undefined {
  const devices = key === 'io.max' ? value.split('\n').map((l) => l.split(' ')[0]) : (/^\d+:\d+/.exec(value) ?? []);
  for (const dev of devices) if (!existsSync(`/sys/dev/block/${dev}`)) return `${dev} is not a block device on this host (see /proc/partitions for MAJOR:MINOR numbers)`;
  if (key !== 'io.weight') return undefined;
  if (!weightTarget(scopeDir)) return 'this kernel has neither blkio.bfq.weight (BFQ) nor blkio.weight (CFQ): no v1 I/O weights';
  if (devices.length && !/\[bfq\]/.test(readFileSync(`/sys/dev/block/${devices[0]}/queue/scheduler`, 'utf8'))) {
    return `device ${devices[0]} does not use the bfq I/O scheduler, so it takes no per-device weight (blkio.bfq.weight_device); use "io.weight: N" for all devices`;
  }
  return undefined;
}

/** "8:0 rbps=N wbps=max" -> one blkio.throttle.*_device line per limit; v1 clears a limit with 0. */
export function ioMaxWrites(value: string): V1Write[] {
  return value.split('\n').flatMap((line) => {
    const [device, ...pairs] = line.split(' ');
    return pairs.map((p) => {
      const [k, v] = p.split('=');
      return { hierarchy: 'blkio' as const, file: `blkio.throttle.${THROTTLE_FILES[k]}`, value: `${device} ${v === 'max' ? 0 : v}`, device, clear: '0' };
    });
  });
}

/** "N" / "default N" -> the cgroup's weight; "MAJ:MIN N" -> that device's. `dir`: the sandbox's blkio directory. */
export function ioWeightWrites(value: string, dir: string): V1Write[] {
  const target = weightTarget(dir);
  if (!target) throw new Error('cgroup key io.weight: this kernel has no v1 I/O weight file (blkio.bfq.weight or blkio.weight)');
  const [first, second] = value.split(' ');
  if (second === undefined || first === 'default') return [{ hierarchy: 'blkio', file: target.file, value: String(target.scale(Number(second ?? first))) }];
  return [{ hierarchy: 'blkio', file: target.deviceFile, value: `${first} ${target.scale(Number(second))}`, device: first, clear: target.clear }];
}
