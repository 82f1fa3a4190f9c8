import { createHash } from 'node:crypto';
import {
  BUDGET_METRICS,
  Tokens,
  budgetCovers,
  budgetName,
  inject,
  injectable,
  periodMs,
  runCost,
  windowAt,
  type Accounting,
  type Admission,
  type BudgetMetric,
  type BudgetSpec,
  type BudgetSubject,
  type Logger,
  type UsageRecord,
} from '../../core';
import type { AccountingRedisConfig } from './config';
import { LeaseStore } from './lease-store';

/** One metric of one budget window, as this worker holds it. */
interface Slice {
  /** Leased and not yet spent; negative when runs cost more than was leased (a debt the next lease covers). */
  remaining: number;
  leasing?: Promise<void>;
  /** Redis had nothing left: do not ask again before this time (others may give slices back). */
  dryUntil: number;
}

interface Window {
  spec: BudgetSpec;
  id: string;
  period: number;
  start: number;
  end: number;
  key: string;
  slices: Partial<Record<BudgetMetric, Slice>>;
  /** Spent since the last report to Redis. */
  unreported: Partial<Record<BudgetMetric, number>>;
}

/** Re-ask Redis for a dry budget at most this often. */
const DRY_RETRY_MS = 1000;
/** Spent amounts go to Redis (for reports only) this often. */
const REPORT_MS = 1000;

/**
 * Budgets shared by several workers through Redis, without a round trip per
 * request: each worker leases a slice of a budget's window (an atomic Lua
 * script grants min(slice, limit - granted)), spends it locally, and leases
 * again as it runs low (in the background, before it runs out). The slices
 * granted never add up to more than the limit, so an owner's invocations
 * never exceed it; CPU and GB-seconds, known only after a run, can exceed it
 * by the runs in flight when the last slice ran out (docs/accounting.md).
 */
@injectable()
export class SharedBudgets implements Accounting {
  private readonly store: LeaseStore;
  private readonly windows: Window[];
  private reportTimer?: NodeJS.Timeout;
  /** Set when a Redis command failed, cleared when the connection is ready again. */
  private down = false;

  constructor(
    @inject(Tokens.PluginConfig) private readonly config: AccountingRedisConfig,
    @inject(Tokens.Logger) private readonly log: Logger,
  ) {
    this.store = new LeaseStore(config.url, config.timeout_ms);
    this.store.redis.on('ready', () => (this.down = false));
    this.windows = config.budgets.map((spec) => {
      const id = createHash('sha256').update(JSON.stringify([spec.owner ?? null, spec.function ?? null, spec.period])).digest('hex').slice(0, 16);
      return { spec, id, period: periodMs(spec.period), start: 0, end: 0, key: '', slices: {}, unreported: {} };
    });
  }

  async start(): Promise<void> {
    await this.store.connect();
    if (this.store.redis.status !== 'ready') this.log.warn({ url: this.config.url, policy: this.config.on_unreachable }, 'Redis is not reachable yet; shared budgets follow on_unreachable until it is');
    this.reportTimer = setInterval(() => void this.report(), REPORT_MS).unref();
  }

  /** Gives back what this worker leased and did not spend, so other workers can use it. */
  async stop(): Promise<void> {
    clearInterval(this.reportTimer);
    const now = Date.now();
    for (const w of this.windows.filter((x) => now < x.end)) {
      for (const [m, s] of Object.entries(w.slices) as [BudgetMetric, Slice][]) {
        await this.store.giveBack(w.key, m, s.remaining).catch(() => undefined);
        s.remaining = 0;
      }
    }
    await this.report();
    await this.store.close();
  }

  admit(subject: BudgetSubject): Admission | Promise<Admission> {
    const covering = this.windows.filter((w) => budgetCovers(w.spec, subject));
    if (!covering.length) return undefined;
    const now = Date.now();
    for (const w of covering) this.roll(w, now);
    if (this.down && this.config.on_unreachable === 'closed') return this.unreachable(covering[0]);
    if (covering.every((w) => this.hasRoom(w))) return this.take(covering);
    return this.admitAfterLease(covering);
  }

  record(u: UsageRecord): void {
    const cost = { invocations: 0, ...runCost(u) };
    for (const w of this.windows) {
      if (!budgetCovers(w.spec, u) || u.at < w.start || u.at >= w.end) continue;
      for (const m of BUDGET_METRICS) {
        w.unreported[m] = (w.unreported[m] ?? 0) + (m === 'invocations' ? 1 : cost[m]);
        const s = w.slices[m];
        if (s && m !== 'invocations') s.remaining -= cost[m];
      }
      this.prefetch(w);
    }
  }

  private metrics(w: Window): BudgetMetric[] {
    return BUDGET_METRICS.filter((m) => w.spec[m] !== undefined);
  }

  /** Invocations need a whole one leased; CPU and GB-seconds, known after the run, need some left. */
  private hasRoom(w: Window): boolean {
    return this.metrics(w).every((m) => {
      const left = w.slices[m]!.remaining;
      return m === 'invocations' ? left >= 1 : left > 0;
    });
  }

  private take(covering: Window[]): undefined {
    for (const w of covering) {
      if (w.slices.invocations) w.slices.invocations.remaining -= 1;
      this.prefetch(w);
    }
    return undefined;
  }

  private async admitAfterLease(covering: Window[]): Promise<Admission> {
    const now = Date.now();
    for (const w of covering) {
      for (const m of this.metrics(w)) {
        const s = w.slices[m]!;
        if (s.dryUntil > now) continue;
        await this.refill(w, m).catch(() => undefined);
      }
    }
    for (const w of covering) {
      if (this.hasRoom(w)) continue;
      if (this.down) return this.config.on_unreachable === 'open' ? undefined : this.unreachable(w);
      const m = this.metrics(w).find((x) => (x === 'invocations' ? w.slices[x]!.remaining < 1 : w.slices[x]!.remaining <= 0))!;
      return { budget: budgetName(w.spec), metric: m, limit: w.spec[m]!, used: w.spec[m]!, resetsAt: new Date(w.end).toISOString() };
    }
    return this.take(covering);
  }

  private unreachable(w: Window): Admission {
    return { budget: budgetName(w.spec), metric: 'invocations', limit: w.spec.invocations ?? 0, used: 0, resetsAt: new Date(Date.now() + DRY_RETRY_MS).toISOString(), reason: 'the shared budget store (Redis) is unreachable and this worker has no leased budget left' };
  }

  /** Leases another slice (plus any debt) for one metric; concurrent callers share one request. */
  private refill(w: Window, m: BudgetMetric): Promise<void> {
    const s = w.slices[m]!;
    s.leasing ??= (async () => {
      const slice = this.config.lease[m];
      const want = slice + Math.max(0, -s.remaining);
      try {
        const got = await this.store.lease(w.key, m, want, w.spec[m]!, 2 * w.period);
        s.remaining += got;
        if (got < want) s.dryUntil = Date.now() + DRY_RETRY_MS;
      } catch (e) {
        if (!this.down) this.log.warn({ err: (e as Error).message, policy: this.config.on_unreachable }, 'cannot lease budget from Redis');
        this.down = true;
        throw e;
      }
    })().finally(() => (s.leasing = undefined));
    return s.leasing;
  }

  /** Leases ahead in the background once a slice is half spent, so requests rarely wait for Redis. */
  private prefetch(w: Window): void {
    const now = Date.now();
    for (const m of this.metrics(w)) {
      const s = w.slices[m]!;
      if (!s.leasing && s.dryUntil <= now && s.remaining < this.config.lease[m] / 2) void this.refill(w, m).catch(() => undefined);
    }
  }

  private roll(w: Window, now: number): void {
    if (now < w.end) return;
    const { start, end } = windowAt(w.period, now);
    // The old window's key expires on its own; what was left of it is not needed any more.
    Object.assign(w, { start, end, key: `${this.config.key_prefix}${w.id}:${start}`, unreported: {} });
    w.slices = Object.fromEntries(this.metrics(w).map((m) => [m, { remaining: 0, dryUntil: 0 }]));
  }

  private async report(): Promise<void> {
    for (const w of this.windows) {
      if (!Object.keys(w.unreported).length) continue;
      const spent = w.unreported;
      w.unreported = {};
      await this.store.addSpent(w.key, spent).catch(() => {
        for (const [m, v] of Object.entries(spent) as [BudgetMetric, number][]) w.unreported[m] = (w.unreported[m] ?? 0) + v;
      });
    }
  }
}
