import { definePlugin, SandboxBackendPoint, SchedulerPoint } from '../../core';
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
  async stop(ctx) {
    // Only drain when this plugin's scheduler is the one bound (select: may pick another).
    if (!ctx.container.isRegistered(SchedulerPoint.token, true)) return;
    const scheduler = ctx.resolve(SchedulerPoint.token);
    if (scheduler instanceof FifoScheduler) await scheduler.drain();
  },
});
