import {
  inject,
  injectable,
  QueueFullError,
  SandboxBackendPoint,
  Tokens,
  type FailureKind,
  type IdleInstance,
  type Invocation,
  type InvocationOutcome,
  type LoadedFunction,
  type Logger,
  type SandboxBackend,
  type Scheduler,
  type SchedulerStats,
} from '../../core';
import { FIFO_DEFAULTS, type FifoConfig } from './config';
import { SchedulerClosedError } from './errors';
import { isEmpty, liveInstances, newPool, type Instance, type Pool, type Waiter } from './pool';

/** After these failures the sandbox's processes are gone or untrustworthy. */
const DEAD_KINDS: ReadonlySet<FailureKind> = new Set<FailureKind>(['timeout', 'oom', 'pids', 'signal', 'crashed']);

/**
 * Per-function pools of instances with a FIFO queue each, bounded per
 * function and worker-wide. Purely event-driven: every state change (release,
 * create done or failed, destroy done, pause done) calls `afterChange`, which
 * hands free capacity to the oldest waiters. See README.md for the rules.
 */
@injectable()
export class FifoScheduler implements Scheduler {
  private readonly cfg: FifoConfig;
  private readonly pools = new Map<string, Pool>();
  /** Pools with a non-empty queue. */
  private readonly waiting = new Set<Pool>();
  /** Destroys in flight (drain waits for them). */
  private readonly dying = new Set<Promise<void>>();
  /** Every sandbox this scheduler holds: idle, busy, starting and stopping. */
  private total = 0;
  /** Sum of the memory limits (MiB) of the instances counted in `total`: the memory pool in use. */
  private memUsed = 0;
  private stopping = 0;
  /** Idle instances destroyed by a policy, by reason key. Keys are a handful of constants. */
  private readonly evictions: Record<string, number> = {};
  private seq = 0;
  private clock = 0;
  private draining: Promise<void> | null = null;
  private onQuiet: (() => void) | null = null;

  constructor(
    @inject(Tokens.PluginConfig) config: Partial<FifoConfig>,
    @inject(Tokens.Logger) private readonly log: Logger,
    @inject(SandboxBackendPoint.token) private readonly backend: SandboxBackend,
  ) {
    this.cfg = { ...FIFO_DEFAULTS, ...config };
  }

  async run(fn: LoadedFunction, inv: Invocation): Promise<InvocationOutcome> {
    if (this.draining) throw new SchedulerClosedError(fn.name);
    const pool = this.poolFor(fn);
    const inst = await this.acquire(pool);
    let outcome: InvocationOutcome;
    try {
      outcome = await inst.sandbox.invoke(inv);
    } catch (err) {
      // invoke() should report failures as outcomes; one that throws leaves the sandbox in an unknown state.
      this.release(pool, inst, 'invoke threw');
      throw err;
    }
    this.release(pool, inst, dropReason(inst, outcome));
    return outcome;
  }

  async retire(name: string, keepVersion?: string): Promise<void> {
    const pool = this.pools.get(name);
    if (!pool) return;
    pool.version = keepVersion ?? null;
    const done = this.retireStale(pool);
    this.afterChange(pool);
    await done;
  }

  stats(): SchedulerStats {
    let idle = 0;
    let paused = 0;
    let busy = 0;
    let starting = 0;
    let queued = 0;
    for (const p of this.pools.values()) {
      idle += p.idle.length;
      paused += p.idle.filter((i) => i.paused).length;
      busy += p.busy;
      starting += p.starting;
      queued += p.queue.length;
    }
    return {
      functions: this.pools.size,
      instances: { idle, busy, starting, stopping: this.stopping },
      queued,
      paused,
      evictions: { ...this.evictions },
      memoryPool: { usedMb: this.memUsed, limitMb: this.cfg.mem_pool_mb },
    };
  }

  idleInstances(): IdleInstance[] {
    const out: IdleInstance[] = [];
    for (const p of this.pools.values()) {
      for (const i of p.idle) out.push({ sandboxId: i.sandbox.id, function: p.name, idleSince: i.idleSince, paused: i.paused, memMb: i.fn.limits.memMb });
    }
    return out.sort((a, b) => a.idleSince - b.idleSince);
  }

  async evictIdle(sandboxId: string, action: 'pause' | 'destroy', reason: string): Promise<boolean> {
    const found = this.findIdle(sandboxId);
    if (!found) return false;
    const { pool, inst } = found;
    if (action === 'pause') {
      if (!inst.pauseRequested) this.pauseIdle(pool, inst);
      await inst.settling;
      return !inst.broken;
    }
    pool.idle.splice(pool.idle.indexOf(inst), 1);
    this.evictions[reason] = (this.evictions[reason] ?? 0) + 1;
    const done = this.destroy(inst, `evicted (${reason})`);
    this.afterChange(pool);
    await done;
    return true;
  }

  private findIdle(sandboxId: string): { pool: Pool; inst: Instance } | undefined {
    for (const pool of this.pools.values()) {
      const inst = pool.idle.find((i) => i.sandbox.id === sandboxId);
      if (inst) return { pool, inst };
    }
    return undefined;
  }

  drain(): Promise<void> {
    this.draining ??= this.drainNow();
    return this.draining;
  }

  private async drainNow(): Promise<void> {
    this.log.info(this.stats(), 'draining: finishing accepted requests');
    await new Promise<void>((resolve) => {
      this.onQuiet = resolve;
      this.checkQuiet();
    });
    for (const pool of this.pools.values()) {
      for (const inst of pool.idle.splice(0)) void this.destroy(inst, 'worker is shutting down');
    }
    this.pools.clear();
    this.waiting.clear();
    while (this.dying.size > 0) await Promise.all([...this.dying]);
    this.log.info('drained: every instance destroyed');
  }

  /** The function's pool; a new version retires the instances of the old one. */
  private poolFor(fn: LoadedFunction): Pool {
    const pool = this.pools.get(fn.name);
    if (!pool) {
      const fresh = newPool(fn);
      this.pools.set(fn.name, fresh);
      return fresh;
    }
    if (pool.version !== fn.version) {
      this.log.info({ fn: fn.name, from: pool.version, to: fn.version }, 'new version: retiring old instances');
      pool.version = fn.version;
      void this.retireStale(pool);
    }
    pool.fn = fn;
    return pool;
  }

  /** Destroy idle instances not of the pool's version now; busy and starting ones go on release. */
  private retireStale(pool: Pool): Promise<unknown> {
    const stale = pool.idle.filter((i) => i.fn.version !== pool.version);
    pool.idle = pool.idle.filter((i) => i.fn.version === pool.version);
    return Promise.all(stale.map((i) => this.destroy(i, 'retired: another version serves this function')));
  }

  private acquire(pool: Pool): Promise<Instance> {
    return new Promise<Instance>((resolve, reject) => {
      const w: Waiter = { seq: this.seq++, resolve, reject };
      pool.queue.push(w);
      this.waiting.add(pool);
      this.pump();
      const at = pool.queue.indexOf(w);
      // Still queued means it waits; the ones ahead of it are queue_max or more.
      if (at >= 0 && pool.queue.length > this.cfg.queue_max) {
        pool.queue.splice(at, 1);
        this.log.debug({ fn: pool.name, queued: pool.queue.length }, 'queue full: request refused');
        this.afterChange(pool);
        reject(new QueueFullError(pool.name, this.cfg.retry_after_s));
      }
    });
  }

  /**
   * Hand capacity to waiters, oldest first. For each pool's head waiter: an
   * idle instance, else a new one within both caps, else (worker-wide cap)
   * wait for a stopping instance's slot, else evict the least recently used
   * idle instance of another function.
   */
  private pump(): void {
    let freeing = this.stopping;
    const pools = [...this.waiting].sort((a, b) => a.queue[0].seq - b.queue[0].seq);
    for (const pool of pools) {
      while (pool.queue.length > 0) {
        if (pool.idle.length > 0) {
          this.wake(pool, pool.idle.pop()!, pool.queue.shift()!);
          continue;
        }
        if (liveInstances(pool) >= this.cfg.max_instances_per_function) break;
        const need = pool.fn.limits.memMb;
        if (this.cfg.mem_pool_mb > 0 && need > this.cfg.mem_pool_mb) {
          pool.queue.shift()!.reject(new Error(`function "${pool.name}" asks for ${need} MiB of memory, more than this worker's whole memory pool of ${this.cfg.mem_pool_mb} MiB (scheduler-fifo.mem_pool_mb); lower limits.mem_mb in its ol.yaml, or ask the operator to raise the pool`));
          continue;
        }
        const poolFull = this.cfg.mem_pool_mb > 0 && this.memUsed + need > this.cfg.mem_pool_mb;
        if (this.total < this.cfg.max_instances && !poolFull) {
          this.start(pool, pool.queue.shift()!);
          continue;
        }
        if (freeing > 0) {
          freeing--; // that slot (and its memory) is this waiter's once the stop completes
          break;
        }
        const victim = this.leastRecentlyUsedIdle(pool);
        if (victim) this.evict(victim, pool, poolFull ? 'mem_pool' : 'instance_cap');
        break;
      }
      this.tidy(pool); // a refused waiter may have been the pool's last
    }
  }

  /**
   * The pool whose oldest idle instance goes first: paused instances before
   * unpaused ones (a paused one is cold already, and its memory is the least
   * likely to be missed), then least recently used. Busy work is never a victim.
   */
  private leastRecentlyUsedIdle(except: Pool): Pool | undefined {
    let best: Pool | undefined;
    const rank = (p: Pool) => [p.idle[0].paused ? 0 : 1, p.idle[0].lastUsed];
    for (const p of this.pools.values()) {
      if (p === except || p.idle.length === 0) continue;
      if (!best) {
        best = p;
        continue;
      }
      const [a, b] = [rank(p), rank(best)];
      if (a[0] < b[0] || (a[0] === b[0] && a[1] < b[1])) best = p;
    }
    return best;
  }

  private evict(victim: Pool, forPool: Pool, reason: 'instance_cap' | 'mem_pool'): void {
    const inst = victim.idle.shift()!;
    this.evictions[reason] = (this.evictions[reason] ?? 0) + 1;
    const why = reason === 'mem_pool' ? 'worker memory pool full' : 'worker-wide instance cap reached';
    this.log.info({ fn: victim.name, sandbox: inst.sandbox.id, for: forPool.name }, `${why}: evicting least recently used idle instance`);
    void this.destroy(inst, `evicted to make room for ${forPool.name} (${why})`);
    this.tidy(victim);
  }

  /** Cold start for waiter `w`; the instance counts against both caps while it starts. */
  private start(pool: Pool, w: Waiter): void {
    const fn = pool.fn;
    pool.starting++;
    this.total++;
    this.memUsed += fn.limits.memMb;
    this.log.debug({ fn: fn.name, version: fn.version }, 'creating an instance');
    Promise.resolve()
      .then(() => this.backend.create(fn))
      .then(
        (sandbox) => {
          pool.starting--;
          pool.busy++;
          w.resolve({ sandbox, fn, lastUsed: this.clock, idleSince: 0, paused: false, pauseRequested: false, broken: false, settling: Promise.resolve() });
        },
        (err: Error) => {
          pool.starting--;
          this.total--;
          this.memUsed -= fn.limits.memMb;
          this.log.warn({ fn: fn.name, err }, 'could not create an instance');
          w.reject(err);
          this.afterChange(pool);
        },
      );
  }

  /** Give an idle instance to `w`, unpausing it first; a broken one is dropped and `w` waits again. */
  private wake(pool: Pool, inst: Instance, w: Waiter): void {
    pool.busy++;
    void this.resume(inst).then((ok) => {
      if (ok) return w.resolve(inst);
      pool.busy--;
      void this.destroy(inst, inst.sandbox.state === 'dead' ? 'died while idle' : 'could not be unpaused');
      pool.queue.unshift(w);
      this.waiting.add(pool);
      this.afterChange(pool);
    });
  }

  private async resume(inst: Instance): Promise<boolean> {
    await inst.settling;
    // An idle instance can die unseen (its process exited, the eviction sweeper or a
    // teardown destroyed it): drop it here rather than hand the request a corpse.
    if (inst.broken || inst.sandbox.state === 'dead') return false;
    if (!inst.paused) return true;
    try {
      await inst.sandbox.unpause();
      inst.paused = false;
      return true;
    } catch (err) {
      this.log.warn({ sandbox: inst.sandbox.id, err }, 'could not unpause an idle instance; destroying it');
      inst.broken = true;
      return false;
    }
  }

  /** After a request: drop the instance, hand it to the next waiter, or park it idle. */
  private release(pool: Pool, inst: Instance, drop: string | null): void {
    if (drop === null && inst.fn.version !== pool.version) drop = 'retired: another version serves this function';
    if (drop === null && this.draining && pool.queue.length === 0) drop = 'worker is shutting down';
    if (drop !== null) {
      pool.busy--;
      void this.destroy(inst, drop);
      this.afterChange(pool);
      return;
    }
    const next = pool.queue.shift();
    if (next) {
      // Straight to the oldest waiter: it stays busy, no pause and unpause in between.
      if (pool.queue.length === 0) this.waiting.delete(pool);
      next.resolve(inst);
      return;
    }
    pool.busy--;
    this.park(pool, inst);
    this.afterChange(pool);
  }

  private park(pool: Pool, inst: Instance): void {
    inst.lastUsed = ++this.clock;
    inst.idleSince = performance.now();
    inst.pauseRequested = false;
    pool.idle.push(inst);
    if (this.cfg.pause_idle) this.pauseIdle(pool, inst);
  }

  /** Freeze an idle instance in the background; every later operation on it waits for this. */
  private pauseIdle(pool: Pool, inst: Instance): void {
    inst.pauseRequested = true;
    inst.settling = inst.settling
      .then(() => inst.sandbox.pause())
      .then(
        () => {
          inst.paused = true;
        },
        (err) => {
          this.log.warn({ fn: pool.name, sandbox: inst.sandbox.id, err }, 'could not pause an idle instance; destroying it');
          inst.broken = true;
          const at = pool.idle.indexOf(inst);
          if (at < 0) return; // already taken: wake() drops it
          pool.idle.splice(at, 1);
          void this.destroy(inst, 'could not be paused');
          this.afterChange(pool);
        },
      );
  }

  /** Destroy after any pause in flight; the instance's worker-wide slot frees when the kernel confirms. */
  private destroy(inst: Instance, reason: string): Promise<void> {
    this.stopping++;
    this.log.debug({ fn: inst.fn.name, sandbox: inst.sandbox.id, reason }, 'destroying an instance');
    const done: Promise<void> = inst.settling
      .then(() => inst.sandbox.destroy(reason))
      .catch((err) => this.log.error({ fn: inst.fn.name, sandbox: inst.sandbox.id, err }, 'could not destroy an instance'))
      .then(() => {
        this.stopping--;
        this.total--;
        this.memUsed -= inst.fn.limits.memMb;
        this.dying.delete(done);
        this.afterChange();
      });
    this.dying.add(done);
    return done;
  }

  private afterChange(pool?: Pool): void {
    if (pool) this.tidy(pool);
    this.pump();
    this.checkQuiet();
  }

  /** Forget a pool with no instance and no waiter (idle functions cost no memory here). */
  private tidy(pool: Pool): void {
    if (pool.queue.length === 0) this.waiting.delete(pool);
    if (isEmpty(pool) && this.pools.get(pool.name) === pool) this.pools.delete(pool.name);
  }

  private checkQuiet(): void {
    if (!this.onQuiet) return;
    for (const p of this.pools.values()) if (p.busy > 0 || p.starting > 0 || p.queue.length > 0) return;
    const resolve = this.onQuiet;
    this.onQuiet = null;
    resolve();
  }
}

function dropReason(inst: Instance, outcome: InvocationOutcome): string | null {
  if (!outcome.ok && DEAD_KINDS.has(outcome.failure.kind)) return `instance died: ${outcome.failure.kind}`;
  if (inst.sandbox.state === 'dead') return 'instance died';
  if (!inst.fn.config.reuseSandbox) return 'reuse-sandbox is false';
  return null;
}
