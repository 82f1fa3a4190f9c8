import { budgetsSchema, type BudgetSpec } from '../../core';

/** What to do when Redis cannot be reached. */
export type UnreachablePolicy = 'lease' | 'closed' | 'open';

export interface AccountingRedisConfig {
  url: string;
  key_prefix: string;
  /** How much of a budget one lease takes, per metric. */
  lease: { invocations: number; cpu_seconds: number; gb_seconds: number };
  /** lease: spend what is already leased, then refuse; closed: refuse at once; open: admit unmetered until Redis is back. */
  on_unreachable: UnreachablePolicy;
  /** A Redis command slower than this counts as Redis unreachable. */
  timeout_ms: number;
  budgets: BudgetSpec[];
}

export const configSchema = {
  type: 'object',
  properties: {
    url: { type: 'string', pattern: '^rediss?://', default: 'redis://127.0.0.1:6379' },
    key_prefix: { type: 'string', default: 'ol:budget:' },
    lease: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        invocations: { type: 'number', exclusiveMinimum: 0, default: 10 },
        cpu_seconds: { type: 'number', exclusiveMinimum: 0, default: 5 },
        gb_seconds: { type: 'number', exclusiveMinimum: 0, default: 10 },
      },
    },
    on_unreachable: { enum: ['lease', 'closed', 'open'], default: 'lease' },
    timeout_ms: { type: 'integer', minimum: 1, default: 500 },
    budgets: budgetsSchema,
  },
};
