import type { LoadedFunction, Sandbox } from '../../core';

/** A sandbox the scheduler owns, with what it needs to pick and retire it. */
export interface Instance {
  readonly sandbox: Sandbox;
  /** The function (and so the version) the sandbox was created from. */
  readonly fn: LoadedFunction;
  /** Logical clock of the last release: orders idle instances worker-wide (LRU eviction). */
  lastUsed: number;
  /** `performance.now()` at the last release: what idle-time policies compare against. */
  idleSince: number;
  paused: boolean;
  /** A pause was started in this idle period (by the release or by an eviction policy). */
  pauseRequested: boolean;
  /** A pause or unpause failed: the instance is no longer trusted and is destroyed. */
  broken: boolean;
  /** The pause started at release; every later operation on the sandbox waits for it. Never rejects. */
  settling: Promise<void>;
}

/** A run() waiting for an instance. Exists only while the function has queued requests. */
export interface Waiter {
  /** Worker-wide arrival order: the oldest waiter gets a freed worker-wide slot first. */
  readonly seq: number;
  resolve(inst: Instance): void;
  reject(err: Error): void;
}

/**
 * Everything the scheduler holds for one function name: plain data, no timer
 * and no pending promise of its own, so a pool with no instance and no waiter
 * is simply deleted from the map.
 */
export interface Pool {
  readonly name: string;
  /** The version to serve; instances of any other are retired. null after retire(name). */
  version: string | null;
  /** The newest LoadedFunction run() saw for this name: new instances start from it. */
  fn: LoadedFunction;
  /** LIFO: the last element was released most recently (warmest in cache). */
  idle: Instance[];
  busy: number;
  starting: number;
  /** FIFO of waiting requests. */
  queue: Waiter[];
}

export function newPool(fn: LoadedFunction): Pool {
  return { name: fn.name, version: fn.version, fn, idle: [], busy: 0, starting: 0, queue: [] };
}

/** Instances that count against max_instances_per_function. */
export function liveInstances(pool: Pool): number {
  return pool.idle.length + pool.busy + pool.starting;
}

export function isEmpty(pool: Pool): boolean {
  return liveInstances(pool) === 0 && pool.queue.length === 0;
}
