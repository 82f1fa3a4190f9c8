import * as path from 'node:path';
import { sharedBareRuntimes } from '../lib/bare-pool';
import { closedLoop, viaSockets, viaWorker } from '../lib/load';
import { percentile } from '../lib/stats';
import { compared, defineSuite } from '../lib/suite';
import { WorkerProcess } from '../lib/worker-process';

/** Idle instances frozen by the eviction sweeper after 1 s instead of after every request. */
const DEFERRED_PAUSE = ['scheduler-fifo.pause_idle=false', 'eviction.pause_after_ms=1000'];

/**
 * What freezing an instance after every request costs a warm request: the
 * warm-echo latency again, on a second worker whose idle instances are
 * paused only after 1 s without a request (the eviction plugin's
 * pause_after_ms), so back-to-back requests skip the freeze and the thaw.
 */
export default defineSuite({
  name: 'warm-pause',
  title: 'Warm echo with the idle pause deferred by 1 s (what the freeze/thaw per request costs)',
  order: 15,
  async run(ctx) {
    const worker = await WorkerProcess.start(path.join(ctx.tmpDir, 'wp'), DEFERRED_PAUSE);
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
        compared('p50 latency, concurrency 1, pause deferred', 'ms', p.o50, { label: 'bare', runs: p.f50 }, { op: '<=', bound: 1.5 }),
        compared('p99 latency, concurrency 1, pause deferred', 'ms', p.o99, { label: 'bare', runs: p.f99 }, { op: '<=', bound: 3 }),
      ],
      notes: [`worker config: the default with ${DEFERRED_PAUSE.map((o) => `-o ${o}`).join(' ')}`],
    };
  },
});
