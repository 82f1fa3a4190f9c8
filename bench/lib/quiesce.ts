import * as fs from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

/** Busy and total jiffies of all CPUs so far (/proc/stat's first line). */
function cpuJiffies(): { busy: number; total: number } {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + (f[4] ?? 0);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/**
 * Wait until the machine's CPUs were mostly idle over one `windowMs` window
 * (busy below `busyFraction` of all cores), or `maxMs` passed. Between
 * measured rounds: the kernel finishes a destroyed sandbox's teardown
 * (freeing its memory, its network namespace) after the destroy returned, and
 * that work would otherwise land on the next round, whichever side it is.
 */
export async function untilCpusQuiet(maxMs = 500, windowMs = 25, busyFraction = 0.25): Promise<void> {
  const end = performance.now() + maxMs;
  let last = cpuJiffies();
  while (performance.now() < end) {
    await delay(windowMs);
    const now = cpuJiffies();
    const total = now.total - last.total;
    if (total > 0 && (now.busy - last.busy) / total < busyFraction) return;
    last = now;
  }
}
