import * as fs from 'node:fs';
import { bwrapVersion, startBwrap } from '../lib/bwrap';
import type { BenchContext } from '../lib/context';
import { sharedKernel, type Kernel } from '../lib/in-process-worker';
import type { LoadedFunction } from '../../core/functions/function-config';
import { median, msSince } from '../lib/stats';
import { compared, defineSuite, type ResultRow } from '../lib/suite';
import { expectForks, sharedZygoteKernel, zygoteForks } from '../lib/zygote';

/** Cycles `creators` loops each run `cycles` times; returns cycles per second. */
async function rate(creators: number, cycles: number, cycle: (creator: number) => Promise<void>): Promise<number> {
  const t = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: creators }, async (_, c) => {
      for (let i = 0; i < cycles; i++) await cycle(c);
    }),
  );
  return (creators * cycles * 1000) / msSince(t);
}

async function bwrapCycle(ctx: BenchContext): Promise<void> {
  const scratch = ctx.mkdir('churn-');
  const rt = await startBwrap(scratch);
  await rt.kill();
  fs.rmSync(scratch, { recursive: true, force: true });
}

/** The cgroup driver's slow-operation warnings during the run, summarised per operation. */
function slowOps(logFile: string): string[] {
  const byOp = new Map<string, number[]>();
  const text = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
  for (const line of text.split('\n').filter(Boolean)) {
    const rec = JSON.parse(line);
    if (rec.slow_op) byOp.set(rec.slow_op, [...(byOp.get(rec.slow_op) ?? []), rec.ms]);
  }
  return [...byOp].map(([op, ms]) => `cgroup ${op} took longer than the driver's slow_ms (100 ms) ${ms.length} times: median ${median(ms)} ms, max ${Math.max(...ms)} ms`);
}

/**
 * Sandbox churn: create a sandbox (until its runtime is ready), destroy it
 * (until the kernel confirms it is gone), repeat; with 1 and 2 concurrent
 * creators. Through the SandboxBackend of a worker in this process (fresh
 * sandboxes), and of one with the zygote plugins (instances forked from the
 * root zygote), against bwrap starting the same runtime until ready and
 * killing it.
 */
export default defineSuite({
  name: 'churn',
  title: 'Sandbox churn (create until ready + destroy, per second): SOCK vs bubblewrap',
  order: 30,
  async run(ctx) {
    bwrapVersion();
    const fresh = await sharedKernel(ctx);
    const zygote = await sharedZygoteKernel(ctx);
    const cycleOf = (k: Kernel, fn: LoadedFunction) => async () => {
      const sb = await k.backend.create(fn);
      await sb.destroy('churn benchmark');
    };
    const ours = cycleOf(fresh, await fresh.loader.load('echo'));
    const forked = cycleOf(zygote, await zygote.loader.load('echo'));
    const runs = ctx.pick(3, 1);
    const cycles = ctx.pick(6, 2);
    await ours();
    await forked(); // starts the root zygote
    await bwrapCycle(ctx);
    const forksBefore = await zygoteForks(zygote.worker.paths.adminSocket);
    const rows: ResultRow[] = [];
    const zygoteRows: ResultRow[] = [];
    for (const creators of [1, 2]) {
      const mine: number[] = [];
      const viaZygote: number[] = [];
      const theirs: number[] = [];
      for (let i = 0; i < runs; i++) {
        ctx.log(`${creators} creator(s), run ${i + 1}/${runs}: ${cycles} cycles each`);
        mine.push(await rate(creators, cycles, ours));
        viaZygote.push(await rate(creators, cycles, forked));
        theirs.push(await rate(creators, cycles, () => bwrapCycle(ctx)));
      }
      const who = `${creators} creator${creators > 1 ? 's' : ''}`;
      rows.push(compared(`churn, fresh, ${who}`, '/s', mine, { label: 'bwrap', runs: theirs }));
      zygoteRows.push(compared(`churn, zygote, ${who}`, '/s', viaZygote, { label: 'bwrap', runs: theirs }, { op: '>=', bound: 2 }, 'echo forked from the root zygote'));
    }
    expectForks('churn', (await zygoteForks(zygote.worker.paths.adminSocket)) - forksBefore, 3 * runs * cycles);
    return {
      rows: [...rows, ...zygoteRows],
      notes: [`${runs} runs of ${cycles} cycles per creator; a cycle is one create (runtime ready) and one destroy (processes gone, cgroup and dirs removed)`, ...slowOps(fresh.logFile), ...slowOps(zygote.logFile)],
    };
  },
});
