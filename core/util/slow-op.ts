import type { Logger } from '../log/logger';

/** Receives the duration of every timed operation (e.g. the worker's metrics). */
export interface OpObserver {
  /** `slow`: it took longer than the reporter's threshold. `failed`: it threw (e.g. gave up waiting). */
  observe(op: string, seconds: number, outcome: { slow: boolean; failed: boolean }): void;
}

/**
 * Times operations on the kernel (cgroup writes, freezes, removals) and logs
 * a warning with the duration of any that took longer than `slowMs`, instead
 * of failing: a slow kernel is an anomaly to report, not a reason to crash
 * (the seed's "report perf anomalies instead of panicking"). Each warning
 * carries `slow_op` and `ms` fields so log pipelines can turn them into a
 * metric; an `observer` (the worker's Prometheus histograms) gets every duration.
 */
export class SlowOpReporter {
  constructor(
    private readonly log: Logger,
    readonly slowMs: number,
    private readonly observer?: OpObserver,
  ) {}

  async time<T>(op: string, fields: Record<string, unknown>, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    let failed = true;
    try {
      const result = await fn();
      failed = false;
      return result;
    } finally {
      const elapsed = performance.now() - started;
      const slow = elapsed > this.slowMs;
      this.observer?.observe(op, elapsed / 1000, { slow, failed });
      if (slow) {
        const ms = Math.round(elapsed);
        this.log.warn({ ...fields, slow_op: op, ms, slow_ms: this.slowMs }, `slow ${op}: took ${ms} ms (threshold ${this.slowMs} ms)`);
      }
    }
  }
}
