import Database from 'better-sqlite3';
import type { UsageRecord } from '../../core';
import { runCost } from '../../core';

/** One row of GET /usage: cumulative usage of one (owner, function) in the asked time range. */
export interface UsageTotals {
  owner: string;
  function: string;
  invocations: number;
  failures: number;
  wall_seconds: number;
  cpu_user_seconds: number;
  cpu_system_seconds: number;
  gb_seconds: number;
  memory_peak_bytes: number | null;
  io_read_bytes: number | null;
  io_write_bytes: number | null;
  cpu_throttled_seconds: number | null;
}

export interface UsageQuery {
  owner?: string;
  function?: string;
  /** ms since the epoch, inclusive. */
  from?: number;
  /** ms since the epoch, exclusive. */
  to?: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS usage (
  request_id TEXT PRIMARY KEY,
  at INTEGER NOT NULL,
  owner TEXT NOT NULL,
  function TEXT NOT NULL,
  outcome TEXT NOT NULL,
  wall_ms REAL NOT NULL,
  cpu_user_ms REAL,
  cpu_system_ms REAL,
  memory_peak_bytes INTEGER,
  memory_limit_bytes INTEGER,
  gb_seconds REAL NOT NULL,
  io_read_bytes INTEGER,
  io_write_bytes INTEGER,
  cpu_throttled_ms REAL
);
CREATE INDEX IF NOT EXISTS usage_owner_at ON usage (owner, at);
CREATE INDEX IF NOT EXISTS usage_function_at ON usage (function, at);
`;

/**
 * The usage table in an embedded SQLite database (WAL mode, so readers such
 * as GET /usage do not wait for a batch being written). One row per
 * invocation, keyed by request id; totals are sums over a time range.
 */
export class UsageDb {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly insertMany: (rows: UsageRecord[]) => void;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    this.insert = this.db.prepare(`INSERT OR REPLACE INTO usage VALUES
      (@requestId, @at, @owner, @function, @outcome, @wallMs, @cpuUserMs, @cpuSystemMs, @memoryPeakBytes, @memoryLimitBytes, @gbSeconds, @ioReadBytes, @ioWriteBytes, @cpuThrottledMs)`);
    this.insertMany = this.db.transaction((rows: UsageRecord[]) => {
      for (const r of rows) this.insert.run(row(r));
    });
  }

  /** Writes a batch in one transaction. */
  write(rows: UsageRecord[]): void {
    if (rows.length) this.insertMany(rows);
  }

  totals(q: UsageQuery): UsageTotals[] {
    const { where, params } = filter(q);
    return this.db
      .prepare(
        `SELECT owner, function, COUNT(*) AS invocations, SUM(outcome != 'ok') AS failures,
           SUM(wall_ms) / 1000.0 AS wall_seconds, COALESCE(SUM(cpu_user_ms), 0) / 1000.0 AS cpu_user_seconds,
           COALESCE(SUM(cpu_system_ms), 0) / 1000.0 AS cpu_system_seconds, SUM(gb_seconds) AS gb_seconds,
           MAX(memory_peak_bytes) AS memory_peak_bytes, SUM(io_read_bytes) AS io_read_bytes, SUM(io_write_bytes) AS io_write_bytes,
           SUM(cpu_throttled_ms) / 1000.0 AS cpu_throttled_seconds
         FROM usage ${where} GROUP BY owner, function ORDER BY owner, function`,
      )
      .all(params) as UsageTotals[];
  }

  /** Sums for a budget's window: invocations, CPU seconds, GB-seconds. */
  spent(q: UsageQuery): { invocations: number; cpu_seconds: number; gb_seconds: number } {
    const { where, params } = filter(q);
    const r = this.db
      .prepare(`SELECT COUNT(*) AS invocations, COALESCE(SUM(COALESCE(cpu_user_ms, 0) + COALESCE(cpu_system_ms, 0)), 0) / 1000.0 AS cpu_seconds, COALESCE(SUM(gb_seconds), 0) AS gb_seconds FROM usage ${where}`)
      .get(params) as { invocations: number; cpu_seconds: number; gb_seconds: number };
    return r;
  }

  invocation(requestId: string): Record<string, unknown> | undefined {
    return this.db.prepare('SELECT * FROM usage WHERE request_id = ?').get(requestId) as Record<string, unknown> | undefined;
  }

  close(): void {
    this.db.close();
  }
}

function row(r: UsageRecord): Record<string, unknown> {
  const n = (x?: number) => (x === undefined ? null : x);
  return {
    requestId: r.requestId,
    at: r.at,
    owner: r.owner,
    function: r.function,
    outcome: r.outcome,
    wallMs: r.wallMs,
    cpuUserMs: n(r.cpuUserMs),
    cpuSystemMs: n(r.cpuSystemMs),
    memoryPeakBytes: n(r.memoryPeakBytes),
    memoryLimitBytes: n(r.memoryLimitBytes),
    gbSeconds: runCost(r).gb_seconds,
    ioReadBytes: n(r.ioReadBytes),
    ioWriteBytes: n(r.ioWriteBytes),
    cpuThrottledMs: n(r.cpuThrottledMs),
  };
}

function filter(q: UsageQuery): { where: string; params: Record<string, unknown> } {
  const clauses: string[] = [];
  const params: Record<string, unknown> = {};
  if (q.owner !== undefined) (clauses.push('owner = @owner'), (params.owner = q.owner));
  if (q.function !== undefined) (clauses.push('function = @function'), (params.function = q.function));
  if (q.from !== undefined) (clauses.push('at >= @from'), (params.from = q.from));
  if (q.to !== undefined) (clauses.push('at < @to'), (params.to = q.to));
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}
