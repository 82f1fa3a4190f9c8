import * as path from 'node:path';
import { PluginError, Tokens, inject, injectable, type Accounting, type BudgetRefusal, type BudgetSubject, type Counter, type Logger, type Metrics, type UsageRecord, type WorkerPaths } from '../../core';
import { runCost } from '../../core';
import { BudgetLedger } from './budget-ledger';
import type { AccountingSqliteConfig } from './config';
import { UsageDb, type UsageQuery } from './usage-db';

/**
 * The Accounting provider: usage records are queued in memory and written to
 * SQLite in batches (one transaction every flush_ms or flush_max records),
 * off the request path; budgets are checked against in-memory counts.
 */
@injectable()
export class UsageStore implements Accounting {
  private db?: UsageDb;
  private ledger?: BudgetLedger;
  private queue: UsageRecord[] = [];
  private timer?: NodeJS.Timeout;
  private readonly counters: { invocations: Counter<'owner' | 'function'>; cpu: Counter<'owner' | 'function' | 'mode'>; wall: Counter<'owner' | 'function'>; gb: Counter<'owner' | 'function'>; refusals: Counter<'budget' | 'metric'> };

  constructor(
    @inject(Tokens.PluginConfig) private readonly config: AccountingSqliteConfig,
    @inject(Tokens.WorkerPaths) private readonly paths: WorkerPaths,
    @inject(Tokens.Logger) private readonly log: Logger,
    @inject(Tokens.Metrics) metrics: Metrics,
  ) {
    this.counters = {
      invocations: metrics.counter({ name: 'ol_usage_invocations_total', help: 'Invocations recorded by accounting, by owner and function', labelNames: ['owner', 'function'] }),
      cpu: metrics.counter({ name: 'ol_usage_cpu_seconds_total', help: 'CPU time used by invocations (cgroup), by owner, function and mode (user, system)', labelNames: ['owner', 'function', 'mode'] }),
      wall: metrics.counter({ name: 'ol_usage_wall_seconds_total', help: 'Wall time of invocations in their sandbox, by owner and function', labelNames: ['owner', 'function'] }),
      gb: metrics.counter({ name: 'ol_usage_gb_seconds_total', help: 'GB-seconds (memory allowed x wall time), by owner and function', labelNames: ['owner', 'function'] }),
      refusals: metrics.counter({ name: 'ol_budget_refusals_total', help: 'Runs refused with 429 because a budget was exhausted', labelNames: ['budget', 'metric'] }),
    };
  }

  get file(): string {
    return this.config.file ?? path.join(this.paths.root, 'accounting.sqlite');
  }

  start(): void {
    try {
      this.db = new UsageDb(this.file);
    } catch (e) {
      const msg = (e as Error).message;
      const hint = /bindings file|NODE_MODULE_VERSION|better_sqlite3\.node/.test(msg)
        ? 'the better-sqlite3 native module is missing or built for another Node.js: run `npm rebuild better-sqlite3` (needs make, g++ and python3)'
        : `check that ${this.file} is a writable SQLite database, or set accounting-sqlite.file`;
      throw new PluginError('accounting-sqlite', `cannot open the usage database ${this.file}: ${msg.split('\n')[0]}`, hint);
    }
    this.ledger = new BudgetLedger(this.config.budgets, (spec, start, end) => this.db!.spent({ owner: spec.owner, function: spec.function, from: start, to: end }));
    this.log.info({ file: this.file, budgets: this.config.budgets.length }, 'usage accounting ready');
  }

  stop(): void {
    clearTimeout(this.timer);
    this.flush();
    this.db?.close();
    this.db = undefined;
  }

  admit(subject: BudgetSubject): BudgetRefusal | undefined {
    const refusal = this.ledger?.admit(subject);
    if (refusal) this.counters.refusals.inc({ budget: refusal.budget, metric: refusal.metric });
    return refusal;
  }

  record(u: UsageRecord): void {
    this.ledger?.charge(u);
    this.count(u);
    this.queue.push(u);
    if (this.queue.length >= this.config.flush_max) setImmediate(() => this.flush());
    else this.timer ??= setTimeout(() => this.flush(), this.config.flush_ms).unref();
  }

  /** Everything queued is written before an answer is read from the database. */
  totals(q: UsageQuery) {
    this.flush();
    return this.db!.totals(q);
  }

  invocation(requestId: string) {
    this.flush();
    return this.db!.invocation(requestId);
  }

  budgets() {
    return this.ledger?.state() ?? [];
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.queue.length || !this.db) return;
    const batch = this.queue;
    this.queue = [];
    try {
      this.db.write(batch);
    } catch (e) {
      this.log.error({ err: e, records: batch.length }, 'cannot write usage records; they are lost');
    }
  }

  private count(u: UsageRecord): void {
    const l = { owner: u.owner, function: u.function };
    this.counters.invocations.inc(l);
    this.counters.wall.inc(l, u.wallMs / 1000);
    if (u.cpuUserMs !== undefined) this.counters.cpu.inc({ ...l, mode: 'user' }, u.cpuUserMs / 1000);
    if (u.cpuSystemMs !== undefined) this.counters.cpu.inc({ ...l, mode: 'system' }, u.cpuSystemMs / 1000);
    this.counters.gb.inc(l, runCost(u).gb_seconds);
  }
}
