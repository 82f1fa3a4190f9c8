import { AdminRoutesPoint, InvocationRecordsPoint, definePlugin } from '../../core';
import { configSchema } from './config';
import { DebugRoutes } from './debug-routes';
import { RecordStore } from './record-store';

/**
 * Per-function invocation records (stdout, stderr, the diagnosed failure,
 * usage) kept on disk for a bounded count and age, served on the admin
 * socket at /debug/<fn>/<request id>/{stdout,stderr,error,usage}.
 */
export default definePlugin({
  name: 'debug-records',
  version: '0.1.0',
  description: 'Invocation records (output, failure with evidence, usage) at /debug/<fn>/<request id> on the admin socket',
  coreApi: '^1.0.0',
  provides: [InvocationRecordsPoint, AdminRoutesPoint],
  requires: [],
  configSchema,
  register(ctx) {
    ctx.container.registerSingleton(RecordStore);
    ctx.provide(InvocationRecordsPoint, RecordStore);
    ctx.provide(AdminRoutesPoint, DebugRoutes);
  },
  async start(ctx) {
    await ctx.resolve(RecordStore).start();
  },
  async stop(ctx) {
    await ctx.resolve(RecordStore).stop();
  },
});
