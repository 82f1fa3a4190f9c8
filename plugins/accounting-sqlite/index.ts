import { AccountingPoint, AdminRoutesPoint, definePlugin } from '../../core';
import { configSchema } from './config';
import { UsageRoutes } from './usage-routes';
import { UsageStore } from './usage-store';

/**
 * Usage per invocation, cumulative per function and owner, in an embedded
 * SQLite database in the worker dir; budgets per owner and function (429 past
 * them); GET /usage on the admin socket; Prometheus counters.
 */
export default definePlugin({
  name: 'accounting-sqlite',
  version: '0.1.0',
  description: 'Usage accounting in SQLite (per invocation, per function, per owner), budgets, GET /usage',
  coreApi: '^1.0.0',
  provides: [AccountingPoint, AdminRoutesPoint],
  requires: [],
  configSchema,
  register(ctx) {
    ctx.container.registerSingleton(UsageStore);
    ctx.provide(AccountingPoint, UsageStore);
    ctx.provide(AdminRoutesPoint, UsageRoutes);
  },
  start(ctx) {
    ctx.resolve(UsageStore).start();
  },
  stop(ctx) {
    ctx.resolve(UsageStore).stop();
  },
});
