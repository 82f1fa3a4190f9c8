/**
 * Serialises async work per key inside this process: installs and removals
 * of one function name run one after another, in arrival order.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    const result = before.catch(() => undefined).then(work);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await result;
    } finally {
      // Forget the key once nobody queued behind us, so the map stays bounded.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
