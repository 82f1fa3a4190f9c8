import { definePlugin, SandboxBackendPoint, SchedulerPoint, Tokens, type Metrics } from '../../core';
import { fifoConfigSchema } from './config';
import { FifoScheduler } from './fifo-scheduler';

export { FifoScheduler } from './fifo-scheduler';
export { SchedulerClosedError } from './errors';
export type { FifoConfig } from './config';

export default definePlugin({
  name: 'scheduler-fifo',
  version: '0.1.0',
  description: 'FIFO queue per function, instance caps per function and worker-wide, 429 backpressure, paused idle instances',
  coreApi: '^1.0.0',
  provides: [SchedulerPoint],
  requires: [SandboxBackendPoint],
  configSchema: fifoConfigSchema,
  register(ctx) {
    ctx.provide(SchedulerPoint, FifoScheduler);
  },
  start(ctx) {
    const scheduler = ctx.resolve(SchedulerPoint.token);
    if (!(scheduler instanceof FifoScheduler)) return;
    // Read at scrape time from the scheduler's own counts: nothing to keep in step.
    ctx.resolve<Metrics>(Tokens.Metrics).gauge({
      name: 'ol_instance_evictions',
      help: 'Instances evicted since the worker started, by reason (idle, mem_pool, instance_cap)',
      labelNames: ['reason'],
      collect() {
        for (const [reason, count] of Object.entries(scheduler.stats().evictions ?? {})) this.set({ reason }, count);
      },
    });
  },
  async stop(ctx) {
    // Only drain when this plugin's scheduler is the one bound (select: may pick another).
    if (!ctx.container.isRegistered(SchedulerPoint.token, true)) return;
    const scheduler = ctx.resolve(SchedulerPoint.token);
    if (scheduler instanceof FifoScheduler) await scheduler.drain();
  },
});
