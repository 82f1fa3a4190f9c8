import type { BudgetRefusal, UsageRecord } from '../extension-points/accounting';

/**
 * Budgets on cumulative usage, shared by the accounting plugins: what one is
 * (who it covers, a period, limits per metric), the fixed windows it counts
 * in, and what one usage record costs. See docs/accounting.md.
 */
export const BUDGET_METRICS = ['invocations', 'cpu_seconds', 'gb_seconds'] as const;
export type BudgetMetric = (typeof BUDGET_METRICS)[number];
export type Amounts = Record<BudgetMetric, number>;

/** One budget as written in a plugin's config; it names an owner, a function, or both. */
export interface BudgetSpec {
  owner?: string;
  function?: string;
  /** Length of the window: "30s", "15m", "1h", "1d". Windows are aligned to the Unix epoch (UTC). */
  period: string;
  invocations?: number;
  cpu_seconds?: number;
  gb_seconds?: number;
}

export const budgetsSchema = {
  type: 'array',
  default: [],
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['period'],
    anyOf: [{ required: ['owner'] }, { required: ['function'] }],
    properties: {
      owner: { type: 'string', minLength: 1 },
      function: { type: 'string', minLength: 1 },
      period: { type: 'string', pattern: '^[1-9][0-9]*[smhd]$' },
      invocations: { type: 'number', minimum: 0 },
      cpu_seconds: { type: 'number', minimum: 0 },
      gb_seconds: { type: 'number', minimum: 0 },
    },
  },
};

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function periodMs(period: string): number {
  return Number(period.slice(0, -1)) * UNIT_MS[period.slice(-1)];
}

/** "owner alice / function resize: per 1h": how a budget is named to users. */
export function budgetName(b: BudgetSpec): string {
  const who = [b.owner !== undefined ? `owner ${b.owner}` : '', b.function !== undefined ? `function ${b.function}` : ''].filter(Boolean).join(' / ');
  return `${who}: per ${b.period}`;
}

export function budgetCovers(b: BudgetSpec, subject: { owner: string; function: string }): boolean {
  return (b.owner === undefined || b.owner === subject.owner) && (b.function === undefined || b.function === subject.function);
}

/** The window containing `now`: [start, end) in ms since the epoch. */
export function windowAt(period: number, now: number): { start: number; end: number } {
  const start = Math.floor(now / period) * period;
  return { start, end: start + period };
}

export function zeroAmounts(): Amounts {
  return { invocations: 0, cpu_seconds: 0, gb_seconds: 0 };
}

/**
 * What a record costs beyond its invocation (counted when admitted): CPU
 * seconds (user + system) and GB-seconds, the memory the instance was
 * allowed (as reserved, like a cloud function's configured memory) times its
 * wall time.
 */
export function runCost(u: UsageRecord): Pick<Amounts, 'cpu_seconds' | 'gb_seconds'> {
  const cpu = ((u.cpuUserMs ?? 0) + (u.cpuSystemMs ?? 0)) / 1000;
  const gb = ((u.memoryLimitBytes ?? 0) / 1024 ** 3) * (u.wallMs / 1000);
  return { cpu_seconds: cpu, gb_seconds: gb };
}

/** The first metric of `b` whose use has reached its limit, as a refusal; undefined while all are below. */
export function exhausted(b: BudgetSpec, used: Amounts, resetsAt: number): BudgetRefusal | undefined {
  for (const m of BUDGET_METRICS) {
    const limit = b[m];
    if (limit !== undefined && used[m] >= limit) return { budget: budgetName(b), metric: m, limit, used: used[m], resetsAt: new Date(resetsAt).toISOString() };
  }
  return undefined;
}
