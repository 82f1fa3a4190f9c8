import * as path from 'node:path';
import { sharedBareRuntimes } from '../lib/bare-pool';
import { closedLoop, viaSockets, viaWorker } from '../lib/load';
import { percentile } from '../lib/stats';
import { compared, defineSuite } from '../lib/suite';
import { WorkerProcess } from '../lib/worker-process';

/** Every instance frozen as soon as its request ends (OpenLambda's policy), not after 1 s idle (the default). */
const PAUSE_EVERY_REQUEST = ['scheduler-fifo.pause_idle=true', 'eviction.pause_after_ms=0'];

/**
 * What freezing an instance after every request costs a warm request: the
 * warm-echo latency again, on a second worker whose idle instances are
 * frozen as soon as their request ends, so each request waits for the
 * previous freeze and for its own thaw (the default pauses after 1 s idle).
 */
export default defineSuite({
  name: 'warm-pause',
  title: 'Warm echo with instances paused after every request (what a freeze/thaw per request costs)',
  order: 15,
  async run(ctx) {
    const worker = await WorkerProcess.start(path.join(ctx.tmpDir, 'wp'), PAUSE_EVERY_REQUEST);
    ctx.onCleanup(() => worker.stop());
    const bare = await sharedBareRuntimes(ctx);
    const ours = viaWorker(worker.pool(ctx, 1), 'echo');
    const floor = viaSockets(await bare.pools(1, 1));
    const runs = ctx.pick(3, 1);
    const opts = { concurrency: 1, requests: ctx.pick(2000, 300), durationMs: ctx.pick(3000, 1000) };
    await closedLoop({ ...opts, send: ours, durationMs: 1000 });
    const p = { o50: [] as number[], o99: [] as number[], f50: [] as number[], f99: [] as number[] };
    for (let i = 0; i < runs; i++) {
      ctx.log(`run ${i + 1}/${runs}`);
      const a = (await closedLoop({ ...opts, send: ours })).latenciesMs;
      const b = (await closedLoop({ ...opts, send: floor })).latenciesMs;
      p.o50.push(percentile(a, 50));
      p.o99.push(percentile(a, 99));
      p.f50.push(percentile(b, 50));
      p.f99.push(percentile(b, 99));
    }
    await worker.stop();
    return {
      rows: [
        compared('p50 latency, concurrency 1, pause after every request', 'ms', p.o50, { label: 'bare', runs: p.f50 }),
        compared('p99 latency, concurrency 1, pause after every request', 'ms', p.o99, { label: 'bare', runs: p.f99 }),
      ],
      notes: [`worker config: the default with ${PAUSE_EVERY_REQUEST.map((o) => `-o ${o}`).join(' ')}; no target: this row prices the policy the default avoids`],
    };
  },
});
