import * as path from 'node:path';
import { readKey, readNumber, readOptionalFile, writeCgroupFileNow, type CgroupUsage, type UsageWindow } from '../../core';
import type { HierarchyDirs } from './hierarchies';

interface Counters {
  userNs?: number;
  systemNs?: number;
  throttledNs?: number;
  readBytes?: number;
  writeBytes?: number;
}

async function counters(dirs: HierarchyDirs): Promise<Counters> {
  const [userNs, systemNs, throttledNs, io] = await Promise.all([
    readNumber(path.join(dirs.cpuacct, 'cpuacct.usage_user')),
    readNumber(path.join(dirs.cpuacct, 'cpuacct.usage_sys')),
    readKey(path.join(dirs.cpu, 'cpu.stat'), 'throttled_time'),
    dirs.blkio ? readOptionalFile(path.join(dirs.blkio, 'blkio.throttle.io_service_bytes')) : undefined,
  ]);
  return { userNs, systemNs, throttledNs, ...ioBytes(io) };
}

/** blkio.throttle.io_service_bytes: "8:0 Read N" / "8:0 Write N" per device (and a Total line), summed over devices. */
function ioBytes(text: string | undefined): Pick<Counters, 'readBytes' | 'writeBytes'> {
  if (text === undefined) return {};
  let readBytes = 0;
  let writeBytes = 0;
  for (const m of text.matchAll(/^\S+ (Read|Write) (\d+)$/gm)) {
    if (m[1] === 'Read') readBytes += Number(m[2]);
    else writeBytes += Number(m[2]);
  }
  return { readBytes, writeBytes };
}

/** Resets memory.max_usage_in_bytes; false when this kernel refuses (the peak is then the instance's). */
function resetPeak(peakFile: string): boolean {
  try {
    writeCgroupFileNow(peakFile, 0);
    return true;
  } catch {
    return false;
  }
}

const usec = (after?: number, before?: number) => (after === undefined || before === undefined ? undefined : Math.max(0, Math.round((after - before) / 1000)));
const delta = (after?: number, before?: number) => (after === undefined || before === undefined ? undefined : Math.max(0, after - before));

/**
 * One invocation's usage on v1: CPU from cpuacct (user/system, ns) and
 * cpu.stat throttled_time, deltas over the run. v1 has no per-invocation
 * peak, but memory.max_usage_in_bytes can be reset by writing 0, so the peak
 * read after the run is this invocation's own. I/O bytes come from the blkio
 * hierarchy where it is mounted; v1 charges buffered writes to the task that
 * flushes them, not the writer, so the write figure counts only direct and
 * synchronous writes.
 */
export async function startV1Usage(dirs: HierarchyDirs): Promise<UsageWindow> {
  const peakFile = path.join(dirs.memory, 'memory.max_usage_in_bytes');
  const reset = resetPeak(peakFile);
  const before = await counters(dirs);
  return {
    async finish(): Promise<CgroupUsage> {
      const [after, peak] = await Promise.all([counters(dirs), readNumber(peakFile)]);
      return {
        cpuUserUsec: usec(after.userNs, before.userNs),
        cpuSystemUsec: usec(after.systemNs, before.systemNs),
        cpuThrottledUsec: usec(after.throttledNs, before.throttledNs),
        ioReadBytes: delta(after.readBytes, before.readBytes),
        ioWriteBytes: delta(after.writeBytes, before.writeBytes),
        memoryPeakBytes: peak,
        memoryPeakScope: reset ? 'invocation' : 'instance',
      };
    },
  };
}
