import { AdminRoutesPoint, SchedulerPoint, Tokens, definePlugin, type FunctionLoader, type Metrics, type Scheduler } from '../../core';
import { EVICTION_DEFAULTS, evictionConfigSchema, type EvictionConfig } from './config';
import { IdleSweeper } from './sweeper';

export { IdleSweeper } from './sweeper';
export type { EvictionConfig } from './config';

/** Per worker (a test process may run several): the sweeper, once started. */
const HOLDER = Symbol('eviction.holder');
interface Holder {
  sweeper: IdleSweeper | null;
}

/**
 * Idle policies: idle instances paused after `pause_after_ms` and destroyed
 * after `destroy_after_ms`; a function unused for `forget_after_ms` has its
 * cached config and records released. One worker-wide sweeper, armed only
 * while something is live. Memory pressure (the memory pool) is the
 * scheduler's admission rule: scheduler-fifo.mem_pool_mb.
 */
export default definePlugin({
  name: 'eviction',
  version: '0.1.0',
  description: 'idle instances paused and destroyed, unused functions forgotten, by one worker-wide sweeper',
  coreApi: '^1.0.0',
  provides: [AdminRoutesPoint],
  requires: [SchedulerPoint],
  configSchema: evictionConfigSchema,
  register(ctx) {
    const holder: Holder = { sweeper: null };
    ctx.container.registerInstance(HOLDER, holder);
    ctx.provide(AdminRoutesPoint, {
      useValue: {
        mount(router) {
          router.get('/stats/eviction', (k) => {
            k.body = { sweeper: holder.sweeper?.stats() ?? null, policies: ctx.config };
          });
        },
      },
    });
  },
  async start(ctx) {
    const cfg: EvictionConfig = { ...EVICTION_DEFAULTS, ...ctx.config };
    const scheduler = ctx.resolve<Scheduler>(SchedulerPoint.token);
    const loader = ctx.resolve<FunctionLoader>(Tokens.FunctionLoader);
    if (!scheduler.idleInstances || !scheduler.evictIdle) {
      ctx.logger.warn('the selected scheduler cannot report idle instances: only unused functions are released (use scheduler-fifo for idle instance policies)');
    }
    const metrics = ctx.container.isRegistered(Tokens.Metrics, true) ? ctx.resolve<Metrics>(Tokens.Metrics) : undefined;
    const s = new IdleSweeper(cfg, scheduler, loader, ctx.logger, metrics);
    ctx.resolve<Holder>(HOLDER).sweeper = s;
    loader.onCached(() => s.kick());
    s.kick();
  },
  async stop(ctx) {
    const holder = ctx.resolve<Holder>(HOLDER);
    holder.sweeper?.stop();
    holder.sweeper = null;
  },
});
