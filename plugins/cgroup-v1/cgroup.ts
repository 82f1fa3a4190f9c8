import * as path from 'node:path';
import {
  CPU_PERIOD_USEC,
  MIB,
  cpuQuotaUsec,
  readKey,
  readNumber,
  readPids,
  removeCgroupDir,
  UsageWindowSlot,
  writeCgroupFile,
  writeOptionalFile,
  type Cgroup,
  type CgroupFileError,
  type CgroupStats,
  type KnobRestore,
  type UsageWindow,
  type Logger,
  type ResourceLimits,
  type SlowOpReporter,
} from '../../core';
import { killAllIn, setFreezerState, waitProcsEmpty } from './freezer';
import { distinctDirs, type HierarchyDirs } from './hierarchies';
import { hierarchyDir, undoWrites, v1Writes, type V1Write } from './knob-map';
import { startV1Usage } from './usage';

/**
 * The kernel keeps memory.limit_in_bytes <= memory.memsw.limit_in_bytes at
 * every step, so lowering writes the memory limit first and raising writes
 * the memory+swap limit first. Equal values mean no swap. memsw exists only
 * with swap accounting; without it there is no swap to forbid.
 */
async function setMemoryLimit(dir: string, bytes: number): Promise<void> {
  const mem = path.join(dir, 'memory.limit_in_bytes');
  const memsw = path.join(dir, 'memory.memsw.limit_in_bytes');
  const current = (await readNumber(mem)) ?? Infinity;
  if (bytes <= current) {
    await writeCgroupFile(mem, bytes);
    await writeOptionalFile(memsw, bytes);
  } else {
    await writeOptionalFile(memsw, bytes);
    await writeCgroupFile(mem, bytes);
  }
}

/** One sandbox's cgroup: a directory in each of the memory, pids, cpu, cpuacct and freezer hierarchies (and cpuset, blkio, hugetlb where mounted). */
export class V1Cgroup implements Cgroup {
  readonly procsFiles: string[];
  private readonly usage = new UsageWindowSlot();

  constructor(
    readonly name: string,
    private readonly dirs: HierarchyDirs,
    private readonly ops: SlowOpReporter,
    private readonly giveUpMs: number,
    private readonly log: Logger,
  ) {
    this.procsFiles = distinctDirs(dirs).map((d) => path.join(d, 'cgroup.procs'));
  }

  setLimits(limits: ResourceLimits): Promise<void> {
    return this.time('setLimits', async () => {
      await setMemoryLimit(this.dirs.memory, limits.memMb * MIB);
      await this.noSwap();
      await writeCgroupFile(path.join(this.dirs.pids, 'pids.max'), limits.procs);
      await writeCgroupFile(path.join(this.dirs.cpu, 'cpu.cfs_period_us'), CPU_PERIOD_USEC);
      await writeCgroupFile(path.join(this.dirs.cpu, 'cpu.cfs_quota_us'), cpuQuotaUsec(limits.cpuPercent));
    });
  }

  setKnobs(knobs: Record<string, string>): Promise<void> {
    return this.time('setKnobs', async () => {
      await this.applyKnobs(knobs);
    });
  }

  overrideKnobs(knobs: Record<string, string>): Promise<KnobRestore> {
    return this.time('overrideKnobs', async () => {
      const undo: V1Write[] = [];
      try {
        await this.applyKnobs(knobs, undo);
      } catch (e) {
        await this.write(undo).catch(() => undefined);
        throw e;
      }
      return () => this.time('restoreKnobs', () => this.write(undo));
    });
  }

  async startUsage(): Promise<UsageWindow> {
    return this.usage.track(await startV1Usage(this.dirs));
  }

  freeze(): Promise<void> {
    return this.time('freeze', () => setFreezerState(this.dirs.freezer, 'FROZEN', this.giveUpMs));
  }

  thaw(): Promise<void> {
    return this.time('thaw', () => setFreezerState(this.dirs.freezer, 'THAWED', this.giveUpMs));
  }

  /** Members as the freezer hierarchy sees them (the one killAll acts through). */
  pids(): Promise<number[]> {
    return readPids(path.join(this.dirs.freezer, 'cgroup.procs'));
  }

  killAll(): Promise<void> {
    return this.time('killAll', () => killAllIn([this.dirs.freezer], distinctDirs(this.dirs), this.giveUpMs, this.log));
  }

  async stats(): Promise<CgroupStats> {
    const { memory, pids, cpuacct } = this.dirs;
    const [memoryBytes, memoryPeakBytes, oomKills, pidsCurrent, pidsLimitHits, cpuNs] = await Promise.all([
      readNumber(path.join(memory, 'memory.usage_in_bytes')),
      readNumber(path.join(memory, 'memory.max_usage_in_bytes')),
      readKey(path.join(memory, 'memory.oom_control'), 'oom_kill'),
      readNumber(path.join(pids, 'pids.current')),
      readKey(path.join(pids, 'pids.events'), 'max'),
      readNumber(path.join(cpuacct, 'cpuacct.usage')),
    ]);
    const cpuUsageUsec = cpuNs === undefined ? undefined : Math.round(cpuNs / 1000);
    return { memoryBytes, memoryPeakBytes, oomKills: oomKills ?? 0, pidsCurrent, pidsLimitHits: pidsLimitHits ?? 0, cpuUsageUsec };
  }

  destroy(): Promise<void> {
    return this.time('destroy', async () => {
      // A run that killed the instance is still measured: its figures are read before they go.
      await this.usage.settle();
      for (const dir of distinctDirs(this.dirs)) await removeCgroupDir(dir, (ms) => waitProcsEmpty(dir, ms), this.giveUpMs);
    });
  }

  /**
   * Key by key, each computed from the files as the previous key left them
   * (memory.swap.max is relative to memory.max in v1, which goes first).
   * `undo` collects writes that put back the old values, latest first.
   */
  private async applyKnobs(knobs: Record<string, string>, undo?: V1Write[]): Promise<void> {
    const keys = Object.keys(knobs).sort((a, b) => Number(b === 'memory.max') - Number(a === 'memory.max'));
    for (const key of keys) {
      const writes = await v1Writes(key, knobs[key], this.dirs);
      if (undo) undo.unshift(...(await undoWrites(writes, this.dirs)));
      await this.write(writes);
    }
  }

  private async write(writes: V1Write[]): Promise<void> {
    for (const w of writes) await writeCgroupFile(path.join(hierarchyDir(this.dirs, w), w.file), w.value);
  }

  /** swappiness 0 where the kernel lets us set it (a no-op safeguard when memsw is absent). */
  private async noSwap(): Promise<void> {
    try {
      await writeOptionalFile(path.join(this.dirs.memory, 'memory.swappiness'), 0);
    } catch (e) {
      this.log.debug({ cgroup: this.name, err: (e as CgroupFileError).message }, 'memory.swappiness is not writable here');
    }
  }

  private time<T>(op: string, fn: () => Promise<T>): Promise<T> {
    return this.ops.time(op, { cgroup: this.name }, fn);
  }
}
