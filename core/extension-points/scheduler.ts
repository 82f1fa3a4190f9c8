import { defineExtensionPoint } from '../plugin/extension-point';
import type { LoadedFunction } from '../functions/function-config';
import type { Invocation, InvocationOutcome } from '../invoke/invocation';

/** Thrown by `run` when the function's queue is full; becomes HTTP 429 with Retry-After. */
export class QueueFullError extends Error {
  constructor(readonly functionName: string, readonly retryAfterSeconds: number) {
    super(`function "${functionName}" has too many requests waiting`);
    this.name = 'QueueFullError';
  }
}

export interface SchedulerStats {
  functions: number;
  instances: Record<string, number>;
  queued: number;
  /** Of the idle instances, how many are frozen. */
  paused?: number;
  /** Idle instances destroyed by a policy rather than after a request, by reason (idle, mem_pool, instance_cap...). */
  evictions?: Record<string, number>;
  /** The worker memory pool: the memory limits of every instance held, against the configured total (0 = no pool). */
  memoryPool?: { usedMb: number; limitMb: number };
}

/** An instance no request is using, as an eviction policy sees it. */
export interface IdleInstance {
  sandboxId: string;
  function: string;
  /** `performance.now()` when its last request finished. */
  idleSince: number;
  paused: boolean;
  memMb: number;
}

/**
 * Decides which instance serves each invocation: queueing, instance counts
 * per function and worker-wide, backpressure. Combination: `exclusive`.
 */
export interface Scheduler {
  run(fn: LoadedFunction, inv: Invocation): Promise<InvocationOutcome>;
  /** Destroy instances of `name` (all, or those not of `keepVersion`). */
  retire(name: string, keepVersion?: string): Promise<void>;
  stats(): SchedulerStats;
  /** Optional, for eviction policies: every idle instance, least recently used first. */
  idleInstances?(): IdleInstance[];
  /**
   * Optional, for eviction policies: pause or destroy one idle instance. Resolves
   * false when it is no longer idle (a request took it, or it is gone); busy
   * instances are never touched. `reason` is a short key counted in stats().evictions.
   */
  evictIdle?(sandboxId: string, action: 'pause' | 'destroy', reason: string): Promise<boolean>;
  /** Stop accepting work, finish what was accepted, destroy every instance. */
  drain(): Promise<void>;
}

export const SchedulerPoint = defineExtensionPoint<Scheduler>({
  id: 'Scheduler',
  combine: 'exclusive',
  optional: false,
});
