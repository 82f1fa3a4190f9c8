/**
 * Lookups remembered for `revalidate_ms`. Without it every request walks its
 * function's directory (a readdir per directory, an lstat per file) to see
 * whether the code changed; with it, an edit made in place in a `dirs`
 * directory is seen within the TTL, and installs and removals through this
 * registry are seen at once (they delete the name).
 *
 * Expired entries are dropped by one timer per cache, which runs only while
 * the cache holds entries: a TTL after a worker's last lookup the cache is
 * empty and no timer is left (issue #7: no per-function state, and nothing
 * running, while idle).
 */
export class LookupCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get(name: string): V | undefined {
    const entry = this.entries.get(name);
    if (!entry) return undefined;
    if (entry.expires > this.now()) return entry.value;
    this.entries.delete(name);
    return undefined;
  }

  set(name: string, value: V): void {
    if (this.ttlMs <= 0) return;
    this.entries.set(name, { value, expires: this.now() + this.ttlMs });
    this.scheduleSweep();
  }

  delete(name: string): void {
    this.entries.delete(name);
  }

  /** Forget everything and stop the timer (the worker is stopping). */
  clear(): void {
    this.entries.clear();
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Whether the expiry timer runs (only while there are entries). */
  get sweeping(): boolean {
    return this.timer !== undefined;
  }

  private scheduleSweep(): void {
    if (this.timer || this.entries.size === 0) return;
    // unref: a pending sweep never keeps the process alive.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.sweep();
      this.scheduleSweep();
    }, this.ttlMs).unref();
  }

  private sweep(): void {
    const now = this.now();
    for (const [name, entry] of this.entries) if (entry.expires <= now) this.entries.delete(name);
  }
}
