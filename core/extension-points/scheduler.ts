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
  /** Stop accepting work, finish what was accepted, destroy every instance. */
  drain(): Promise<void>;
}

export const SchedulerPoint = defineExtensionPoint<Scheduler>({
  id: 'Scheduler',
  combine: 'exclusive',
  optional: false,
});
