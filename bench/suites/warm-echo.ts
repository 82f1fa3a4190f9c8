import { sharedBareRuntimes } from '../lib/bare-pool';
import { closedLoop, viaSockets, viaWorker } from '../lib/load';
import { percentile } from '../lib/stats';
import { compared, defineSuite, type ResultRow } from '../lib/suite';
import { sharedWorker } from '../lib/worker-process';

const CONCURRENCY = [1, 4, 16, 64];

/**
 * Warm `echo` through the real worker (HTTP on loopback) against the floor:
 * the same runtime served bare on the host over a Unix socket. Runs of ours
 * and of the floor alternate, so both see the same machine state.
 */
export default defineSuite({
  name: 'warm-echo',
  title: 'Warm invocation of echo: worker vs the bare runtime (the floor)',
  order: 10,
  async run(ctx) {
    const worker = await sharedWorker(ctx);
    const bare = await sharedBareRuntimes(ctx);
    const rows: ResultRow[] = [];
    const notes: string[] = [];

    // Latency at concurrency 1: one instance, one bare runtime.
    const runs = ctx.pick(5, 2);
    // Whichever comes first: a slow worker must not stretch the run past its budget.
    const requests = ctx.pick(2000, 300);
    const maxMs = ctx.pick(4000, 1000);
    const ours = viaWorker(worker.pool(ctx, 1), 'echo');
    const floor = viaSockets(await bare.pools(1, 1));
    await closedLoop({ concurrency: 1, send: ours, requests: 200, durationMs: 1000 }); // the first request starts the instance
    await closedLoop({ concurrency: 1, send: floor, requests: 200, durationMs: 1000 });
    const p = { ours50: [] as number[], ours99: [] as number[], floor50: [] as number[], floor99: [] as number[] };
    for (let i = 0; i < runs; i++) {
      ctx.log(`latency run ${i + 1}/${runs}: ${requests} requests or ${maxMs} ms each`);
      const a = await closedLoop({ concurrency: 1, send: ours, requests, durationMs: maxMs });
      const b = await closedLoop({ concurrency: 1, send: floor, requests, durationMs: maxMs });
      p.ours50.push(percentile(a.latenciesMs, 50));
      p.ours99.push(percentile(a.latenciesMs, 99));
      p.floor50.push(percentile(b.latenciesMs, 50));
      p.floor99.push(percentile(b.latenciesMs, 99));
    }
    rows.push(compared('p50 latency, concurrency 1', 'ms', p.ours50, { label: 'bare', runs: p.floor50 }, { op: '<=', bound: 1.5 }));
    rows.push(compared('p99 latency, concurrency 1', 'ms', p.ours99, { label: 'bare', runs: p.floor99 }, { op: '<=', bound: 3 }));

    // Throughput: the floor gets as many bare runtimes as the worker used instances.
    const tRuns = ctx.pick(3, 1);
    const durationMs = ctx.pick(2000, 600);
    for (const c of CONCURRENCY) {
      const send = viaWorker(worker.pool(ctx, c), 'echo');
      await closedLoop({ concurrency: c, send, durationMs: ctx.pick(1000, 300) }); // lets the scheduler scale out
      const inst = await worker.instances();
      const k = Math.max(1, Math.min(c, (inst.idle ?? 0) + (inst.busy ?? 0)));
      const floorSend = viaSockets(await bare.pools(k, c));
      await closedLoop({ concurrency: c, send: floorSend, durationMs: 200 });
      const t = { ours: [] as number[], floor: [] as number[] };
      for (let i = 0; i < tRuns; i++) {
        ctx.log(`throughput at concurrency ${c}, run ${i + 1}/${tRuns}: ${durationMs} ms each`);
        t.ours.push((await closedLoop({ concurrency: c, send, durationMs })).throughput);
        t.floor.push((await closedLoop({ concurrency: c, send: floorSend, durationMs })).throughput);
      }
      const target = c === 16 ? { op: '>=' as const, bound: 0.6 } : undefined;
      rows.push(compared(`throughput, concurrency ${c}`, 'req/s', t.ours, { label: `bare x${k}`, runs: t.floor }, target));
      notes.push(`concurrency ${c}: the worker ran ${k} instance${k === 1 ? '' : 's'} of echo; the floor used as many bare runtimes`);
    }
    return { rows, notes };
  },
});
