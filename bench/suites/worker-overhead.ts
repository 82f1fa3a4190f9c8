import { sharedBareRuntimes } from '../lib/bare-pool';
import { closedLoop, viaSockets, viaWorker } from '../lib/load';
import { processCpuMs } from '../lib/proc';
import { compared, defineSuite, type ResultRow } from '../lib/suite';
import { sharedWorker } from '../lib/worker-process';

/**
 * The worker process's own CPU per 1,000 warm requests (user + system, all
 * threads, from /proc/<pid>/stat), against the CPU the bare runtime itself
 * spends serving as many: what the worker adds per request, in units of the
 * function's own cost.
 */
export default defineSuite({
  name: 'worker-overhead',
  title: 'Worker overhead: worker CPU per 1,000 warm echo requests',
  order: 50,
  async run(ctx) {
    const worker = await sharedWorker(ctx);
    const bare = await sharedBareRuntimes(ctx);
    const runs = ctx.pick(3, 1);
    const requests = ctx.pick(2000, 300);
    const maxMs = ctx.pick(4000, 1000); // whichever comes first; CPU is divided by the requests done
    const rows: ResultRow[] = [];
    for (const c of [1, 16]) {
      const send = viaWorker(worker.pool(ctx, c), 'echo');
      const [rt] = await bare.take(1);
      const floor = viaSockets(await bare.pools(1, c));
      await closedLoop({ concurrency: c, send, requests: 100, durationMs: 1000 });
      const ours: number[] = [];
      const theirs: number[] = [];
      for (let i = 0; i < runs; i++) {
        ctx.log(`concurrency ${c}, run ${i + 1}/${runs}: ${requests} requests or ${maxMs} ms`);
        const w0 = worker.cpuMs();
        const a = await closedLoop({ concurrency: c, send, requests, durationMs: maxMs });
        ours.push(((worker.cpuMs() - w0) * 1000) / a.latenciesMs.length);
        const r0 = processCpuMs(rt.pid);
        const b = await closedLoop({ concurrency: c, send: floor, requests, durationMs: maxMs });
        theirs.push(((processCpuMs(rt.pid) - r0) * 1000) / b.latenciesMs.length);
      }
      rows.push(compared(`worker CPU, concurrency ${c}`, 'ms/1k req', ours, { label: 'runtime itself', runs: theirs }));
    }
    return { rows, notes: ['baseline: CPU of one bare runtime serving the same number of requests (so the ratio is the worker\'s cost in units of the function\'s own)'] };
  },
});
