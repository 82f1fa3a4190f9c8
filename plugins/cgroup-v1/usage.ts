import * as path from 'node:path';
import { readKey, readNumber, writeCgroupFile, type CgroupUsage, type UsageWindow } from '../../core';
import type { HierarchyDirs } from './hierarchies';

interface CpuTimes {
  userNs?: number;
  systemNs?: number;
  throttledNs?: number;
}

async function cpuTimes(dirs: HierarchyDirs): Promise<CpuTimes> {
  const [userNs, systemNs, throttledNs] = await Promise.all([
    readNumber(path.join(dirs.cpuacct, 'cpuacct.usage_user')),
    readNumber(path.join(dirs.cpuacct, 'cpuacct.usage_sys')),
    readKey(path.join(dirs.cpu, 'cpu.stat'), 'throttled_time'),
  ]);
  return { userNs, systemNs, throttledNs };
}

const usec = (after?: number, before?: number) => (after === undefined || before === undefined ? undefined : Math.max(0, Math.round((after - before) / 1000)));

/**
 * One invocation's usage on v1: CPU from cpuacct (user/system, ns) and
 * cpu.stat throttled_time, deltas over the run. v1 has no per-invocation
 * peak, but memory.max_usage_in_bytes can be reset by writing 0, so the peak
 * read after the run is this invocation's own. v1 I/O is not measured: the
 * driver does not place sandboxes in the blkio hierarchy.
 */
export async function startV1Usage(dirs: HierarchyDirs): Promise<UsageWindow> {
  const peakFile = path.join(dirs.memory, 'memory.max_usage_in_bytes');
  const reset = await writeCgroupFile(peakFile, 0).then(
    () => true,
    () => false,
  );
  const before = await cpuTimes(dirs);
  return {
    async finish(): Promise<CgroupUsage> {
      const [after, peak] = await Promise.all([cpuTimes(dirs), readNumber(peakFile)]);
      return {
        cpuUserUsec: usec(after.userNs, before.userNs),
        cpuSystemUsec: usec(after.systemNs, before.systemNs),
        cpuThrottledUsec: usec(after.throttledNs, before.throttledNs),
        memoryPeakBytes: peak,
        memoryPeakScope: reset ? 'invocation' : 'instance',
      };
    },
  };
}
