import * as fs from 'node:fs';
import { startBwrap } from './bwrap';
import type { BenchContext } from './context';
import { postEcho, socketPool } from './load';
import { msSince } from './stats';

/**
 * One bubblewrap cold start: spawn bwrap running the runtime with echo, wait
 * for "ready", send the first request over its socket, and time up to its
 * answer (the same end point as a worker's first request). Then kill it.
 * Suites comparing a cold start with bwrap's (fresh, zygote) call this in
 * rounds interleaved with their own, so both sides see the same machine state.
 */
export async function bwrapColdStartMs(ctx: BenchContext): Promise<number> {
  const scratch = ctx.mkdir('bw-');
  const t = process.hrtime.bigint();
  const rt = await startBwrap(scratch);
  const pool = socketPool(rt.socket, 1);
  try {
    await postEcho(pool, '/run');
    return msSince(t);
  } finally {
    await pool.destroy();
    await rt.kill();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
