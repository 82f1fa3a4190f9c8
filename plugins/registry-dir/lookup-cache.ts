/**
 * Lookups remembered for `revalidate_ms`. Without it every request walks its
 * function's directory (a readdir per directory, an lstat per file) to see
 * whether the code changed; with it, an edit made in place in a `dirs`
 * directory is seen within the TTL, and installs and removals through this
 * registry are seen at once (they delete the name).
 *
 * Expired entries are dropped by a sweep at most once per TTL, so the cache
 * holds nothing for functions no longer called (issue #7: no per-function
 * state while idle).
 */
export class LookupCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();
  private nextSweep = 0;

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
    this.sweep();
    this.entries.set(name, { value, expires: this.now() + this.ttlMs });
  }

  delete(name: string): void {
    this.entries.delete(name);
  }

  get size(): number {
    return this.entries.size;
  }

  private sweep(): void {
    const now = this.now();
    if (now < this.nextSweep) return;
    this.nextSweep = now + this.ttlMs;
    for (const [name, entry] of this.entries) if (entry.expires <= now) this.entries.delete(name);
  }
}
