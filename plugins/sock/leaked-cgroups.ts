import type { Cgroup, Counter, Logger, Metrics } from '../../core';

/** Backoff of the background cleanup: 1 s, doubling, at most a minute between attempts. */
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 60_000;

interface Leak {
  cgroup: Cgroup;
  sandbox: string;
  attempts: number;
  timer?: NodeJS.Timeout;
  cleaned: Promise<void>;
  done: () => void;
}

/**
 * Cgroups whose kill or removal never completed (a member stuck in the
 * kernel, D state, or frozen elsewhere). The sandbox's teardown does not wait
 * for them: the worker keeps serving, the leak is counted and logged, and its
 * cleanup is retried in the background with backoff until it succeeds or
 * the worker stops (the driver's shutdown then takes the whole subtree).
 */
export class LeakedCgroups {
  private readonly leaks = new Map<string, Leak>();
  private readonly anomalies: Counter<'driver' | 'op' | 'anomaly'>;

  constructor(
    private readonly log: Logger,
    metrics: Metrics,
    private readonly driver: string,
  ) {
    this.anomalies = metrics.cgroupAnomalies;
    const leaks = this.leaks;
    metrics.gauge({
      name: 'ol_cgroups_leaked',
      help: 'Sandbox cgroups whose kill or removal did not complete; cleanup is retried in the background',
      collect() {
        this.set(leaks.size);
      },
    });
  }

  get size(): number {
    return this.leaks.size;
  }

  add(sandbox: string, cgroup: Cgroup, problems: string[]): void {
    if (this.leaks.has(cgroup.name)) return;
    let done!: () => void;
    const cleaned = new Promise<void>((resolve) => (done = resolve));
    const leak: Leak = { cgroup, sandbox, attempts: 0, cleaned, done };
    this.leaks.set(cgroup.name, leak);
    this.anomalies.inc({ driver: this.driver, op: 'teardown', anomaly: 'leaked' });
    this.log.error({ sandbox, cgroup: cgroup.name, problems }, 'sandbox cgroup leaked: its processes did not die or it could not be removed; the worker keeps serving and retries the cleanup in the background');
    this.schedule(leak);
  }

  /** Resolves once the cgroup named `name` was cleaned up (immediately if it is not leaked). */
  cleaned(name: string): Promise<void> {
    return this.leaks.get(name)?.cleaned ?? Promise.resolve();
  }

  /** One last attempt each, then stop retrying; returns the names still leaked. */
  async stop(): Promise<string[]> {
    for (const leak of this.leaks.values()) clearTimeout(leak.timer);
    await Promise.all([...this.leaks.values()].map((leak) => this.attempt(leak)));
    return [...this.leaks.keys()];
  }

  private schedule(leak: Leak): void {
    const delay = Math.min(FIRST_RETRY_MS * 2 ** leak.attempts, MAX_RETRY_MS);
    leak.timer = setTimeout(() => void this.attempt(leak).then((ok) => ok || this.schedule(leak)), delay);
    leak.timer.unref(); // a pending retry must not keep a stopping worker alive
  }

  private async attempt(leak: Leak): Promise<boolean> {
    leak.attempts++;
    try {
      await leak.cgroup.killAll();
      await leak.cgroup.destroy();
    } catch (e) {
      this.log.warn({ sandbox: leak.sandbox, cgroup: leak.cgroup.name, attempt: leak.attempts, err: (e as Error).message }, 'leaked cgroup: cleanup failed again; will retry');
      return false;
    }
    this.leaks.delete(leak.cgroup.name);
    this.log.info({ sandbox: leak.sandbox, cgroup: leak.cgroup.name, attempts: leak.attempts }, 'leaked cgroup cleaned up');
    leak.done();
    return true;
  }
}
