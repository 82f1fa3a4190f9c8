import { AccountingPoint, definePlugin } from '../../core';
import { configSchema } from './config';
import { SharedBudgets } from './shared-budgets';

/**
 * Budgets shared by several workers through Redis, with leases: each worker
 * spends slices of a budget locally and talks to Redis only to take or give
 * back a slice (docs/accounting.md has the bound on overspending).
 */
export default definePlugin({
  name: 'accounting-redis',
  version: '0.1.0',
  description: 'Budgets per owner and function shared across workers through Redis leases',
  coreApi: '^1.0.0',
  provides: [AccountingPoint],
  requires: [],
  configSchema,
  register(ctx) {
    ctx.container.registerSingleton(SharedBudgets);
    ctx.provide(AccountingPoint, SharedBudgets);
  },
  async start(ctx) {
    await ctx.resolve(SharedBudgets).start();
  },
  async stop(ctx) {
    await ctx.resolve(SharedBudgets).stop();
  },
});
