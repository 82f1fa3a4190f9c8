import * as path from 'node:path';
import { freshCopy } from '../lib/archive';
import { bwrapColdStartMs } from '../lib/baselines';
import { bwrapVersion } from '../lib/bwrap';
import { postEcho } from '../lib/load';
import { ECHO_DIR } from '../lib/runtime-process';
import { msSince } from '../lib/stats';
import { compared, defineSuite } from '../lib/suite';
import { sharedWorker, type WorkerProcess } from '../lib/worker-process';
import { expectForks, sharedZygoteWorker, zygoteForks } from '../lib/zygote';

const FN = 'bench-cold';

/** Upload a new copy of echo (retiring the last round's instance), then time its first POST /run. */
async function firstRequestMs(worker: WorkerProcess, pool: ReturnType<WorkerProcess['pool']>, code: Buffer): Promise<number> {
  const up = await worker.adminCall('POST', `/registry/${FN}`, code);
  if (up.status !== 201) throw new Error(`uploading ${FN} failed: HTTP ${up.status} ${up.text}`);
  const t = process.hrtime.bigint();
  await postEcho(pool, `/run/${FN}`);
  return msSince(t);
}

/**
 * Cold start: the first request to a function with no instance, through the
 * worker, against bubblewrap running the same runtime with the same
 * namespaces until it answers its first request on its socket. Twice: a
 * fresh sandbox (the default worker), and an instance forked from the root
 * zygote (a second worker with the zygote plugins).
 */
export default defineSuite({
  name: 'cold-start',
  title: 'Cold start (first request, no instance): worker vs bubblewrap',
  order: 20,
  async run(ctx) {
    bwrapVersion();
    const worker = await sharedWorker(ctx);
    const zworker = await sharedZygoteWorker(ctx);
    const pool = worker.pool(ctx, 1);
    const zpool = zworker.pool(ctx, 1);
    // The connections exist before the first timed request; the root zygote is started.
    await postEcho(pool, '/run/echo');
    await postEcho(zpool, '/run/echo');
    const work = ctx.mkdir('cold-');
    const rounds = ctx.pick(10, 3);
    const fresh: number[] = [];
    const forked: number[] = [];
    const bwrap: number[] = [];
    const forksBefore = await zygoteForks(path.join(zworker.dir, 'ol.sock'));
    for (let i = -1; i < rounds; i++) {
      // Each round uploads new code: the install retires the last round's instance.
      const code = await freshCopy(ECHO_DIR, work, i);
      const mine = await firstRequestMs(worker, pool, code);
      const viaZygote = await firstRequestMs(zworker, zpool, code);
      const theirs = await bwrapColdStartMs(ctx);
      if (i < 0) continue; // round -1 warms the page cache for all three
      ctx.log(`round ${i + 1}/${rounds}: fresh sandbox ${mine.toFixed(0)} ms, forked from a zygote ${viaZygote.toFixed(0)} ms, bwrap ${theirs.toFixed(0)} ms`);
      fresh.push(mine);
      forked.push(viaZygote);
      bwrap.push(theirs);
    }
    expectForks('cold start', (await zygoteForks(path.join(zworker.dir, 'ol.sock'))) - forksBefore, rounds + 1);
    await worker.adminCall('DELETE', `/registry/${FN}`);
    await zworker.adminCall('DELETE', `/registry/${FN}`);
    const base = { label: 'bwrap', runs: bwrap };
    return {
      rows: [
        compared('cold start, fresh sandbox', 'ms', fresh, base, { op: '<=', bound: 1.2 }),
        compared('cold start, forked from a zygote', 'ms', forked, base, { op: '<=', bound: 0.5 }, 'echo forked from the root zygote (zygote.root: true)'),
      ],
      notes: [`${rounds} rounds; each uploads a new copy of echo, then times its first POST /run (HTTP on loopback) in the default worker (fresh sandbox) and in a worker with the zygote plugins (forked from the root zygote), against one bwrap start up to its first answer`],
    };
  },
});
