// TEST DOUBLE: an in-memory SandboxBackend for the scheduler's own tests. It
// runs no process and touches no cgroup; it only records what the scheduler
// asks of it (create, invoke, pause, unpause, destroy) and flags misuse, such
// as invoking a paused or destroyed sandbox. The real backend needs root and
// the launcher: it is covered by the sock plugin's tests and by the
// end-to-end tests under test/, which run this scheduler against it.
import { EventEmitter } from 'node:events';
import type {
  Cgroup,
  FailureKind,
  Invocation,
  InvocationOutcome,
  LoadedFunction,
  Sandbox,
  SandboxBackend,
  SandboxState,
} from '../../../core';

/** What a fake invocation does, read from the request body. */
export interface FakeRequest {
  /** Wait until the backend's gate opens before answering. */
  hold?: boolean;
  /** Answer with this failure instead of a value. */
  fail?: FailureKind;
}

const DEAD: ReadonlySet<FailureKind> = new Set<FailureKind>(['timeout', 'oom', 'pids', 'signal', 'crashed']);

/** Lets a test release held invocations when it chooses. */
export class Gate {
  private release!: () => void;
  readonly opened = new Promise<void>((resolve) => (this.release = resolve));
  open(): void {
    this.release();
  }
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

const unusedCgroup: Cgroup = new Proxy({} as Cgroup, {
  get(_t, key) {
    if (key === 'then') return undefined;
    throw new Error(`FakeSandbox: the scheduler should not touch the cgroup (${String(key)})`);
  },
});

export class FakeSandbox implements Sandbox {
  state: SandboxState = 'running';
  readonly pid = 0;
  readonly cgroup = unusedCgroup;
  pauses = 0;
  unpauses = 0;
  invocations = 0;
  destroyReason: string | undefined;

  constructor(
    readonly id: string,
    readonly fn: LoadedFunction,
    private readonly backend: FakeSandboxBackend,
  ) {}

  async invoke(inv: Invocation): Promise<InvocationOutcome> {
    if (this.state !== 'running') this.backend.misuse(`${this.id}: invoked while ${this.state}`);
    this.invocations++;
    this.backend.enter(this);
    try {
      const req = JSON.parse(inv.body.toString() || '{}') as FakeRequest;
      if (req.hold) await this.backend.gate.opened;
      await nextTurn();
      if (req.fail) {
        if (DEAD.has(req.fail)) this.state = 'dead';
        return { ok: false, failure: { kind: req.fail, message: `fake ${req.fail}` } };
      }
      const body = JSON.stringify({ sandbox: this.id, version: this.fn.version, request: inv.requestId });
      return { ok: true, body: Buffer.from(body), contentType: 'application/json' };
    } finally {
      this.backend.leave(this);
    }
  }

  async pause(): Promise<void> {
    if (this.state !== 'running') this.backend.misuse(`${this.id}: paused while ${this.state}`);
    await nextTurn();
    this.pauses++;
    this.state = 'paused';
    this.backend.changed();
  }

  async unpause(): Promise<void> {
    if (this.state !== 'paused') this.backend.misuse(`${this.id}: unpaused while ${this.state}`);
    await nextTurn();
    this.unpauses++;
    this.state = 'running';
    this.backend.changed();
  }

  async destroy(reason: string): Promise<void> {
    if (this.destroyReason !== undefined) return; // idempotent, as the real one
    this.destroyReason = reason;
    await nextTurn();
    this.state = 'dead';
    this.backend.destroyed.push(this);
    this.backend.changed();
  }
}

export class FakeSandboxBackend extends EventEmitter implements SandboxBackend {
  readonly created: FakeSandbox[] = [];
  readonly destroyed: FakeSandbox[] = [];
  readonly misuses: string[] = [];
  /** Sandbox ids in the order their invocations finished. */
  readonly finished: string[] = [];
  /** Invocations with `hold` wait for this; replace it to hold again. */
  gate = new Gate();
  /** The next this-many create() calls fail. */
  failCreates = 0;
  inFlight = 0;
  maxInFlight = 0;
  private readonly inFlightByFn = new Map<string, number>();
  readonly maxInFlightByFn = new Map<string, number>();

  async create(fn: LoadedFunction): Promise<FakeSandbox> {
    await nextTurn();
    if (this.failCreates > 0) {
      this.failCreates--;
      throw new Error(`fake backend: cannot create a sandbox for ${fn.name}`);
    }
    const sb = new FakeSandbox(`sb${this.created.length + 1}`, fn, this);
    this.created.push(sb);
    this.changed();
    return sb;
  }

  async cleanupStale(): Promise<void> {}

  /** Sandboxes neither destroyed nor being destroyed. */
  alive(): FakeSandbox[] {
    return this.created.filter((s) => s.destroyReason === undefined);
  }

  /** Resolves once `cond` holds, re-checked on every change the fake makes (no polling). */
  until(cond: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (!cond()) return;
        this.off('change', check);
        resolve();
      };
      this.on('change', check);
      check();
    });
  }

  changed(): void {
    this.emit('change');
  }

  misuse(what: string): void {
    this.misuses.push(what);
  }

  enter(sb: FakeSandbox): void {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const n = (this.inFlightByFn.get(sb.fn.name) ?? 0) + 1;
    this.inFlightByFn.set(sb.fn.name, n);
    this.maxInFlightByFn.set(sb.fn.name, Math.max(n, this.maxInFlightByFn.get(sb.fn.name) ?? 0));
    this.changed();
  }

  leave(sb: FakeSandbox): void {
    this.inFlight--;
    this.finished.push(sb.id);
    this.inFlightByFn.set(sb.fn.name, this.inFlightByFn.get(sb.fn.name)! - 1);
    this.changed();
  }
}
