import { Pool, type Dispatcher } from 'undici';
import { msSince } from './stats';

/** Sends one request and resolves when its whole answer is read; rejects on anything but 200. */
export type Send = (loop: number) => Promise<void>;

export interface LoadResult {
  /** Per-request latency, ms, in completion order. */
  latenciesMs: number[];
  elapsedMs: number;
  /** Completed requests per second over the whole run. */
  throughput: number;
}

/**
 * A closed loop: `concurrency` loops each send a request, wait for the
 * answer, and send the next, until `requests` are done in total or
 * `durationMs` has passed. Closed (not open-loop) because the floor, a
 * single-threaded runtime, has no queue to absorb an arrival rate.
 */
export async function closedLoop(opts: { concurrency: number; send: Send; requests?: number; durationMs?: number }): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  const start = process.hrtime.bigint();
  const until = opts.durationMs;
  let issued = 0;
  const more = () => (opts.requests === undefined || issued < opts.requests) && (until === undefined || msSince(start) < until);
  const loop = async (i: number) => {
    while (more()) {
      issued++;
      const t = process.hrtime.bigint();
      await opts.send(i);
      latenciesMs.push(msSince(t));
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, (_, i) => loop(i)));
  const elapsedMs = msSince(start);
  return { latenciesMs, elapsedMs, throughput: (latenciesMs.length * 1000) / elapsedMs };
}

const EVENT = JSON.stringify({ hello: 'world', n: 42 });

/** POST the echo event to `path` and check the answer is the event. */
export async function postEcho(d: Dispatcher, path: string): Promise<void> {
  const res = await d.request({ method: 'POST', path, body: EVENT, headers: { 'content-type': 'application/json' } });
  const text = await res.body.text();
  if (res.statusCode !== 200 || text !== EVENT) throw new Error(`POST ${path} answered ${res.statusCode}: ${text.slice(0, 300)}`);
}

/** A Send through the worker's public listener: /run/<fn> on one pool. */
export function viaWorker(pool: Pool, fn: string): Send {
  return () => postEcho(pool, `/run/${fn}`);
}

/**
 * A Send straight to runtimes' Unix sockets: loop i always talks to runtime
 * i mod n (as the worker would keep one instance per in-flight request).
 */
export function viaSockets(pools: Pool[]): Send {
  return (i) => postEcho(pools[i % pools.length], '/run');
}

/** A pool on a runtime's Unix socket. */
export function socketPool(socket: string, connections: number): Pool {
  return new Pool('http://runtime', { socketPath: socket, connections, pipelining: 1 });
}
