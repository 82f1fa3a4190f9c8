import { open, type FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { parseFlatKeyed, readNumber, readOptionalFile, type CgroupUsage, type UsageWindow } from '../../core';

interface Counters {
  userUsec?: number;
  systemUsec?: number;
  throttledUsec?: number;
  readBytes?: number;
  writeBytes?: number;
}

async function counters(dir: string): Promise<Counters> {
  const [cpu, io] = await Promise.all([readOptionalFile(path.join(dir, 'cpu.stat')), readOptionalFile(path.join(dir, 'io.stat'))]);
  const c = cpu === undefined ? {} : parseFlatKeyed(cpu);
  const num = (v?: string) => (v === undefined ? undefined : Number(v));
  return { userUsec: num(c.user_usec), systemUsec: num(c.system_usec), throttledUsec: num(c.throttled_usec), ...ioBytes(io) };
}

/** io.stat: one line per device, "8:0 rbytes=N wbytes=N rios=N ..."; summed over devices. Absent without the io controller. */
function ioBytes(text: string | undefined): Pick<Counters, 'readBytes' | 'writeBytes'> {
  if (text === undefined) return {};
  let readBytes = 0;
  let writeBytes = 0;
  for (const m of text.matchAll(/rbytes=(\d+) wbytes=(\d+)/g)) {
    readBytes += Number(m[1]);
    writeBytes += Number(m[2]);
  }
  return { readBytes, writeBytes };
}

const delta = (after?: number, before?: number) => (after === undefined || before === undefined ? undefined : Math.max(0, after - before));

/**
 * Linux 6.12+ lets memory.peak be reset by writing to it, for the writer's
 * open file only: reading that same open file later gives the peak since the
 * reset. Older kernels refuse the write; then the peak is the instance's.
 */
async function resetPeak(file: string): Promise<FileHandle | undefined> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(file, 'r+');
    await fh.write('reset\n');
    return fh;
  } catch {
    await fh?.close().catch(() => undefined);
    return undefined;
  }
}

async function readPeak(fh: FileHandle): Promise<number | undefined> {
  const buf = Buffer.alloc(32);
  const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
  const n = Number(buf.subarray(0, bytesRead).toString().trim());
  return Number.isNaN(n) ? undefined : n;
}

/** One invocation's usage on v2: deltas of cpu.stat and io.stat over the run, and memory.peak (see resetPeak). */
export async function startV2Usage(dir: string): Promise<UsageWindow> {
  const peakFile = path.join(dir, 'memory.peak');
  const peakHandle = await resetPeak(peakFile);
  const before = await counters(dir);
  return {
    async finish(): Promise<CgroupUsage> {
      try {
        const [after, peak] = await Promise.all([counters(dir), peakHandle ? readPeak(peakHandle) : readNumber(peakFile)]);
        return {
          cpuUserUsec: delta(after.userUsec, before.userUsec),
          cpuSystemUsec: delta(after.systemUsec, before.systemUsec),
          cpuThrottledUsec: delta(after.throttledUsec, before.throttledUsec),
          ioReadBytes: delta(after.readBytes, before.readBytes),
          ioWriteBytes: delta(after.writeBytes, before.writeBytes),
          memoryPeakBytes: peak,
          memoryPeakScope: peak === undefined ? undefined : peakHandle ? 'invocation' : 'instance',
        };
      } finally {
        await peakHandle?.close().catch(() => undefined);
      }
    },
  };
}
