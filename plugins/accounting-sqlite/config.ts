import { budgetsSchema, type BudgetSpec } from '../../core';

export interface AccountingSqliteConfig {
  /** The database file; default <worker dir>/accounting.sqlite. */
  file?: string;
  /** Records wait at most this long in memory before they are written (one transaction per batch). */
  flush_ms: number;
  /** ... or until this many are waiting. */
  flush_max: number;
  budgets: BudgetSpec[];
}

export const configSchema = {
  type: 'object',
  properties: {
    file: { type: 'string', minLength: 1 },
    flush_ms: { type: 'integer', minimum: 1, default: 200 },
    flush_max: { type: 'integer', minimum: 1, default: 500 },
    budgets: budgetsSchema,
  },
};
