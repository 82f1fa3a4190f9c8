import Redis from 'ioredis';
import type { BudgetMetric } from '../../core';

/**
 * Takes a slice of a budget's window: grants min(want, limit - granted) and
 * adds it to `granted`, atomically, so the slices of all workers together
 * never exceed the limit. The key expires after the window (plus a margin).
 */
const LEASE = `
local granted = tonumber(redis.call('HGET', KEYS[1], 'granted:' .. ARGV[1]) or '0')
local give = math.min(tonumber(ARGV[2]), tonumber(ARGV[3]) - granted)
if give < 0 then give = 0 end
if give > 0 then redis.call('HINCRBYFLOAT', KEYS[1], 'granted:' .. ARGV[1], give) end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return tostring(give)
`;

/** The budget windows' shared state in Redis: one hash per (budget, window) with granted:<metric> and spent:<metric>. */
export class LeaseStore {
  readonly redis: Redis;

  constructor(url: string, timeoutMs: number) {
    // No offline queue and no retries: a command fails at once while Redis is down, so the policy decides.
    this.redis = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: timeoutMs, connectTimeout: timeoutMs, retryStrategy: (n) => Math.min(n * 100, 2000) });
    this.redis.on('error', () => undefined); // reported per command; reconnects on its own
  }

  async connect(): Promise<void> {
    await this.redis.connect().catch(() => undefined);
  }

  async lease(key: string, metric: BudgetMetric, want: number, limit: number, ttlMs: number): Promise<number> {
    return Number(await this.redis.eval(LEASE, 1, key, metric, want, limit, ttlMs));
  }

  /** Gives back what a worker leased and will not spend. */
  async giveBack(key: string, metric: BudgetMetric, amount: number): Promise<void> {
    if (amount > 0) await this.redis.hincrbyfloat(key, `granted:${metric}`, -amount);
  }

  /** What was really spent, for reports (never read on the request path). */
  async addSpent(key: string, spent: Partial<Record<BudgetMetric, number>>): Promise<void> {
    const m = this.redis.multi();
    for (const [metric, v] of Object.entries(spent)) if (v) m.hincrbyfloat(key, `spent:${metric}`, v);
    await m.exec();
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
