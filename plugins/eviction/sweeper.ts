import type { FunctionLoader, Logger, Metrics, Scheduler } from '../../core';
import type { EvictionConfig } from './config';

/** What the sweeper has done since the worker started. */
export interface SweeperStats {
  running: boolean;
  sweeps: number;
  paused: number;
  destroyed: number;
  /** Functions whose cached config and records were released. */
  forgotten: number;
}

/**
 * The one worker-wide timer behind every idle policy. Per-function or
 * per-instance timers would be state that lives while the function is idle;
 * instead one timeout, armed only while something is live (an instance, a
 * queued request, a cached function), walks the idle instances and the
 * loader's cache each `sweep_ms` and applies the policies. When nothing is
 * live it is not re-armed, so an idle worker holds no timer at all; the
 * loader's "new function cached" event arms it again.
 */
export class IdleSweeper {
  private timer: NodeJS.Timeout | null = null;
  private sweeping = false;
  private stopped = false;
  private readonly counts = { sweeps: 0, paused: 0, destroyed: 0, forgotten: 0 };

  constructor(
    private readonly cfg: EvictionConfig,
    private readonly scheduler: Scheduler,
    private readonly loader: FunctionLoader,
    private readonly log: Logger,
    /** Series labelled with a forgotten function are dropped too. */
    private readonly metrics?: Metrics,
  ) {}

  /** Something became live: make sure a sweep is coming. */
  kick(): void {
    if (this.timer || this.sweeping || this.stopped) return;
    this.timer = setTimeout(() => void this.sweep(), this.cfg.sweep_ms);
    // The sweeper never keeps the process alive on its own.
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  stats(): SweeperStats {
    return { running: this.timer !== null || this.sweeping, ...this.counts };
  }

  /** One pass; exported for tests that do not want to wait for the timer. */
  async sweep(): Promise<void> {
    this.timer = null;
    this.sweeping = true;
    try {
      this.counts.sweeps++;
      await this.sweepInstances(performance.now());
      await this.forgetFunctions(performance.now());
    } catch (err) {
      this.log.error({ err }, 'idle sweep failed; retrying at the next sweep');
    } finally {
      this.sweeping = false;
    }
    if (this.anythingLive()) this.kick();
    else this.log.debug('nothing live: idle sweeper stopped');
  }

  private async sweepInstances(now: number): Promise<void> {
    if (!this.scheduler.idleInstances || !this.scheduler.evictIdle) return;
    const { pause_after_ms: pauseAfter, destroy_after_ms: destroyAfter } = this.cfg;
    const work: Promise<unknown>[] = [];
    for (const i of this.scheduler.idleInstances()) {
      const idleMs = now - i.idleSince;
      if (destroyAfter > 0 && idleMs >= destroyAfter) {
        work.push(this.scheduler.evictIdle(i.sandboxId, 'destroy', 'idle').then((done) => done && this.counts.destroyed++));
      } else if (pauseAfter > 0 && !i.paused && idleMs >= pauseAfter) {
        work.push(this.scheduler.evictIdle(i.sandboxId, 'pause', 'idle').then((done) => done && this.counts.paused++));
      }
    }
    await Promise.all(work);
  }

  private async forgetFunctions(now: number): Promise<void> {
    if (this.cfg.forget_after_ms <= 0) return;
    const gone = this.loader.forgetUnusedSince(now - this.cfg.forget_after_ms);
    if (!gone.length) return;
    this.counts.forgotten += gone.length;
    await this.metrics?.forgetFunctions(new Set(gone));
    this.log.debug({ count: gone.length }, 'released the state of unused functions');
  }

  private anythingLive(): boolean {
    if (this.stopped) return false;
    const s = this.scheduler.stats();
    const instances = Object.values(s.instances).reduce((a, b) => a + b, 0);
    return instances > 0 || s.queued > 0 || this.loader.size > 0;
  }
}
