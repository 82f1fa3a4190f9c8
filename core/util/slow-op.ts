import type { Logger } from '../log/logger';

/**
 * Times operations on the kernel (cgroup writes, freezes, removals) and logs
 * a warning with the duration of any that took longer than `slowMs`, instead
 * of failing: a slow kernel is an anomaly to report, not a reason to crash
 * (the seed's "report perf anomalies instead of panicking"). Each warning
 * carries `slow_op` and `ms` fields so log pipelines can turn them into a metric.
 */
export class SlowOpReporter {
  constructor(
    private readonly log: Logger,
    readonly slowMs: number,
  ) {}

  async time<T>(op: string, fields: Record<string, unknown>, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await fn();
    } finally {
      const elapsed = performance.now() - started;
      if (elapsed > this.slowMs) {
        const ms = Math.round(elapsed);
        this.log.warn({ ...fields, slow_op: op, ms, slow_ms: this.slowMs }, `slow ${op}: took ${ms} ms (threshold ${this.slowMs} ms)`);
      }
    }
  }
}
