import * as path from 'node:path';
import {
  CPU_PERIOD_USEC,
  MIB,
  WaitTimeoutError,
  cpuQuotaUsec,
  parseFlatKeyed,
  readKey,
  readNumber,
  readPids,
  removeCgroupDir,
  waitForFileContent,
  writeCgroupFile,
  writeOptionalFile,
  readOptionalFile,
  UsageWindowSlot,
  type Cgroup,
  type CgroupStats,
  type KnobRestore,
  type UsageWindow,
  type ResourceLimits,
  type SlowOpReporter,
} from '../../core';

import { startV2Usage } from './usage';

type EventKey = 'populated' | 'frozen';

/**
 * Resolves once the cgroup's cgroup.events shows `key value`. The kernel
 * raises an inotify modify event on cgroup.events whenever one of its values
 * changes, so this waits on the kernel's own notification, never on a timer.
 */
export async function waitForEvent(dir: string, key: EventKey, value: '0' | '1', timeoutMs: number): Promise<void> {
  try {
    await waitForFileContent(path.join(dir, 'cgroup.events'), (c) => parseFlatKeyed(c)[key] === value, { timeoutMs });
  } catch (e) {
    if (!(e instanceof WaitTimeoutError)) throw e;
    const hint = key === 'frozen' ? 'a member may be stuck in uninterruptible sleep (D state)' : 'a member may be stuck in uninterruptible sleep (D state) and unable to die';
    throw new Error(`cgroup ${dir}: the kernel did not report "${key} ${value}" within ${timeoutMs} ms (cgroup.events: ${JSON.stringify(e.lastContent?.trim())}); ${hint}: see /proc/<pid>/stack of the pids in its cgroup.procs`);
  }
}

/** SIGKILLs every process in the cgroup and below (cgroup.kill, Linux 5.14+) and waits until none is left. */
export async function killSubtree(dir: string, timeoutMs: number): Promise<void> {
  await writeCgroupFile(path.join(dir, 'cgroup.kill'), 1);
  await waitForEvent(dir, 'populated', '0', timeoutMs);
}

/** One sandbox's cgroup: a leaf of the worker's scope cgroup. */
export class V2Cgroup implements Cgroup {
  readonly procsFiles: string[];
  private readonly usage = new UsageWindowSlot();

  constructor(
    readonly name: string,
    readonly dir: string,
    private readonly ops: SlowOpReporter,
    private readonly giveUpMs: number,
  ) {
    this.procsFiles = [this.file('cgroup.procs')];
  }

  setLimits(limits: ResourceLimits): Promise<void> {
    return this.time('setLimits', async () => {
      await writeCgroupFile(this.file('memory.max'), limits.memMb * MIB);
      // Only present with swap accounting; without it there is no swap to forbid.
      await writeOptionalFile(this.file('memory.swap.max'), 0);
      // On OOM the whole sandbox dies together instead of leaving a half-killed function.
      await writeCgroupFile(this.file('memory.oom.group'), 1);
      await writeCgroupFile(this.file('pids.max'), limits.procs);
      // Absent when the cpu controller could not be enabled (logged at init).
      await writeOptionalFile(this.file('cpu.max'), `${cpuQuotaUsec(limits.cpuPercent)} ${CPU_PERIOD_USEC}`);
    });
  }

  /** v2 keys are this driver's own files: written as given, io.* one device line per write (the kernel parses one). */
  setKnobs(knobs: Record<string, string>): Promise<void> {
    return this.time('setKnobs', async () => {
      for (const [key, value] of Object.entries(knobs)) await this.writeKnob(key, value);
    });
  }

  overrideKnobs(knobs: Record<string, string>): Promise<KnobRestore> {
    return this.time('overrideKnobs', async () => {
      const old: [string, string][] = [];
      try {
        for (const [key, value] of Object.entries(knobs)) {
          old.unshift([key, restoreValue(key, value, (await readOptionalFile(this.file(key))) ?? '')]);
          await this.writeKnob(key, value);
        }
      } catch (e) {
        for (const [k, v] of old) await this.writeKnob(k, v).catch(() => undefined);
        throw e;
      }
      return () => this.time('restoreKnobs', async () => {
        for (const [k, v] of old) await this.writeKnob(k, v);
      });
    });
  }

  async startUsage(): Promise<UsageWindow> {
    return this.usage.track(await startV2Usage(this.dir));
  }

  freeze(): Promise<void> {
    return this.time('freeze', () => this.setFrozen('1'));
  }

  thaw(): Promise<void> {
    return this.time('thaw', () => this.setFrozen('0'));
  }

  pids(): Promise<number[]> {
    return readPids(this.file('cgroup.procs'));
  }

  killAll(): Promise<void> {
    return this.time('killAll', () => killSubtree(this.dir, this.giveUpMs));
  }

  async stats(): Promise<CgroupStats> {
    const [memoryBytes, memoryPeakBytes, oomKills, pidsCurrent, pidsLimitHits, cpuUsageUsec] = await Promise.all([
      readNumber(this.file('memory.current')),
      readNumber(this.file('memory.peak')),
      readKey(this.file('memory.events'), 'oom_kill'),
      readNumber(this.file('pids.current')),
      readKey(this.file('pids.events'), 'max'),
      readKey(this.file('cpu.stat'), 'usage_usec'),
    ]);
    return { memoryBytes, memoryPeakBytes, oomKills: oomKills ?? 0, pidsCurrent, pidsLimitHits: pidsLimitHits ?? 0, cpuUsageUsec };
  }

  destroy(): Promise<void> {
    return this.time('destroy', async () => {
      // A run that killed the instance is still measured: its figures are read before they go.
      await this.usage.settle();
      await removeCgroupDir(this.dir, (ms) => waitForEvent(this.dir, 'populated', '0', ms), this.giveUpMs);
    });
  }

  private async setFrozen(value: '0' | '1'): Promise<void> {
    await writeCgroupFile(this.file('cgroup.freeze'), value);
    await waitForEvent(this.dir, 'frozen', value, this.giveUpMs);
  }

  private async writeKnob(key: string, value: string): Promise<void> {
    const lines = key.startsWith('io.') ? value.split('\n').filter(Boolean) : [value];
    for (const line of lines) await writeCgroupFile(this.file(key), line);
  }

  private file(name: string): string {
    return path.join(this.dir, name);
  }

  private time<T>(op: string, fn: () => Promise<T>): Promise<T> {
    return this.ops.time(op, { cgroup: this.name }, fn);
  }
}

/**
 * What to write to put `key` back as `oldText` was, after `newValue` is set.
 * Most files read back in their own write syntax. io.max and io.weight list
 * only devices with a setting: a device the override added gets "max" /
 * "default" back, since it had no line before.
 */
export function restoreValue(key: string, newValue: string, oldText: string): string {
  if (key !== 'io.max') return oldText;
  const had = new Set(oldText.split('\n').map((l) => l.split(' ')[0]));
  const added = newValue.split('\n').map((l) => l.split(' ')[0]).filter((d) => !had.has(d));
  return [oldText, ...added.map((d) => `${d} rbps=max wbps=max riops=max wiops=max`)].filter(Boolean).join('\n');
}
