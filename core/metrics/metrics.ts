import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Latency buckets (seconds) from a fast warm call (~1 ms) to a slow cold start. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

type Labels<L extends string> = { name: string; help: string; labelNames?: readonly L[] };

/** What forgetFunctions needs of a prom-client metric (its public get/remove, and the label names it was made with). */
interface LabelledMetric {
  labelNames?: string[];
  get(): Promise<{ values: { labels: Record<string, string | number> }[] }>;
  remove(labels: Record<string, string | number>): void;
}

/**
 * The worker's Prometheus metrics: one registry per worker (several workers
 * may share a process in tests), served as text at `/metrics` on the admin
 * socket. Core registers the invocation metrics; plugins add theirs through
 * `Tokens.Metrics` (names start with `ol_`). Asking twice for one name
 * returns the same metric, so a plugin restarted in-process does not throw.
 */
export class Metrics {
  readonly registry = new Registry();
  /** Invocations by function and outcome ('ok', a failure kind, 'platform', 'rejected'). */
  readonly invocations: Counter<'function' | 'outcome'>;
  /** phase: total (arrival to answer), run (in the sandbox), wait (total - run: queue and cold start). */
  readonly invocationSeconds: Histogram<'function' | 'phase'>;
  /** Cgroup operations (create, freeze, kill, rmdir...) by driver and operation. */
  readonly cgroupOpSeconds: Histogram<'driver' | 'op'>;
  /** Cgroup operations that were slow (past slow_ms) or never completed (leaked). */
  readonly cgroupAnomalies: Counter<'driver' | 'op' | 'anomaly'>;

  constructor() {
    processMetrics();
    this.invocations = this.counter({ name: 'ol_invocations_total', help: 'Invocations by function and outcome', labelNames: ['function', 'outcome'] });
    this.invocationSeconds = this.histogram({ name: 'ol_invocation_seconds', help: 'Invocation latency by phase: total, run (inside the sandbox), wait (queue and cold start)', labelNames: ['function', 'phase'] });
    this.cgroupOpSeconds = this.histogram({ name: 'ol_cgroup_op_seconds', help: 'Duration of cgroup operations', labelNames: ['driver', 'op'] });
    this.cgroupAnomalies = this.counter({ name: 'ol_cgroup_anomalies_total', help: 'Cgroup operations that were slow or never completed', labelNames: ['driver', 'op', 'anomaly'] });
  }

  counter<L extends string>(spec: Labels<L>): Counter<L> {
    return (this.registry.getSingleMetric(spec.name) as Counter<L>) ?? new Counter({ ...spec, labelNames: spec.labelNames ?? [], registers: [this.registry] });
  }

  histogram<L extends string>(spec: Labels<L> & { buckets?: number[] }): Histogram<L> {
    return (this.registry.getSingleMetric(spec.name) as Histogram<L>) ?? new Histogram({ buckets: LATENCY_BUCKETS, ...spec, labelNames: spec.labelNames ?? [], registers: [this.registry] });
  }

  /** `collect` runs at each scrape, e.g. to count instances by state. */
  gauge<L extends string>(spec: Labels<L> & { collect?: (this: Gauge<L>) => void | Promise<void> }): Gauge<L> {
    return (this.registry.getSingleMetric(spec.name) as Gauge<L>) ?? new Gauge({ ...spec, labelNames: spec.labelNames ?? [], registers: [this.registry] });
  }

  /**
   * Drop every series labelled with one of these function names (the
   * eviction plugin forgot them as unused), so the metrics of a worker stay
   * bounded by its live functions, not every function it ever ran. One pass
   * over the function-labelled metrics, however many names.
   */
  async forgetFunctions(names: ReadonlySet<string>): Promise<void> {
    if (names.size === 0) return;
    for (const metric of this.registry.getMetricsAsArray() as unknown as LabelledMetric[]) {
      if (!metric.labelNames?.includes('function')) continue;
      const gone = new Map<string, Record<string, string | number>>();
      for (const v of (await metric.get()).values) {
        if (!names.has(String(v.labels.function))) continue;
        // Histogram buckets add `le`, which is not one of the metric's own labels.
        const own = Object.fromEntries(Object.entries(v.labels).filter(([k]) => metric.labelNames!.includes(k)));
        gone.set(JSON.stringify(own), own);
      }
      for (const labels of gone.values()) metric.remove(labels);
    }
  }

  /** The exposition text (the process's metrics, then the worker's) and its content type. */
  async scrape(): Promise<{ contentType: string; text: string }> {
    const text = (await processMetrics().metrics()) + '\n' + (await this.registry.metrics());
    return { contentType: this.registry.contentType, text };
  }
}

/** Event loop lag is sampled by a timer of this period (prom-client's default, 10 ms, wakes an idle worker 100 times a second). */
const EVENT_LOOP_SAMPLE_MS = 100;
let processRegistry: Registry | undefined;

/**
 * The Node process's own metrics (CPU, memory, GC, event loop lag), made
 * once per process: prom-client starts an event-loop monitor for each
 * registry it fills and never stops it, so one per worker would pile up in a
 * process that starts many (tests, the benchmarks).
 */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: 'ol_worker_', eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  }
  return processRegistry;
}

/** An OpObserver (core/util/slow-op.ts) that feeds a cgroup driver's timings into the metrics. */
export function cgroupOpObserver(metrics: Metrics, driver: string): import('../util/slow-op').OpObserver {
  return {
    observe(op, seconds, { slow, failed }) {
      metrics.cgroupOpSeconds.observe({ driver, op }, seconds);
      if (failed) metrics.cgroupAnomalies.inc({ driver, op, anomaly: 'failed' });
      else if (slow) metrics.cgroupAnomalies.inc({ driver, op, anomaly: 'slow' });
    },
  };
}
