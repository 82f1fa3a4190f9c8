import { setTimeout as delay } from 'node:timers/promises';

/**
 * Poll `cond` with backoff (1 ms doubling to 100 ms) until it holds. Only for
 * conditions the kernel announces nowhere (a v1 freezer state seen from
 * outside the worker); fails with what it waited for.
 */
export async function waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (let wait = 1; !cond(); wait = Math.min(wait * 2, 100)) {
    if (Date.now() > end) throw new Error(`gave up after ${timeoutMs} ms waiting for ${what}`);
    await delay(wait);
  }
}
