/**
 * A wall-clock limit: an AbortSignal that fires at the deadline, and a
 * promise for racing other waits against it. clear() must run in every path
 * (a pending timer would keep the worker's event loop busy).
 */
export class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private fire!: () => void;
  readonly expired: Promise<'expired'>;

  constructor(readonly ms: number) {
    this.expired = new Promise((resolve) => (this.fire = () => resolve('expired')));
    this.timer = setTimeout(() => {
      this.controller.abort(new Error(`deadline of ${ms} ms passed`));
      this.fire();
    }, ms);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get passed(): boolean {
    return this.controller.signal.aborted;
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

/** Waits for `promise`, or gives up after `ms`: resolves 'expired' then. */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'expired'> {
  const deadline = new Deadline(ms);
  try {
    return await Promise.race([promise, deadline.expired]);
  } finally {
    deadline.clear();
  }
}
