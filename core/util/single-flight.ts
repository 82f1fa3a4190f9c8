/**
 * One piece of work per key at a time: callers asking for a key whose work
 * is under way share its promise instead of starting it again (two requests
 * for a function whose package is not yet installed install it once). The
 * key is forgotten when the work settles, so a failure is not remembered:
 * the next caller tries again.
 */
export class SingleFlight<K, V> {
  private readonly pending = new Map<K, Promise<V>>();

  /** The work under way for `key`, or `work()` started now. */
  run(key: K, work: () => Promise<V>): Promise<V> {
    let p = this.pending.get(key);
    if (!p) {
      p = work().finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    return p;
  }

  /** Whether work for `key` is under way. */
  has(key: K): boolean {
    return this.pending.has(key);
  }
}
