import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Sandbox } from '../../core/extension-points/sandbox-backend';
import type { BenchContext } from '../lib/context';
import { REPO } from '../lib/context';
import { sharedKernel, type Kernel } from '../lib/in-process-worker';
import { processMemory } from '../lib/proc';
import { untilCpusQuiet } from '../lib/quiesce';
import { percentile } from '../lib/stats';
import { compared, defineSuite } from '../lib/suite';
import { expectForks, zygoteForks, zygoteOverrides } from '../lib/zygote';

/** The test packages of the zygote plugins (test/zygote-packages/README.md). */
const PACKAGES = path.join(REPO, 'test/zygote-packages');
const MIB = 1024 * 1024;

/** The function: imports slowpkg, which spends ~200 ms and builds ~20 MB of tables at import. */
const FUNCTION = `# ol-import: slowpkg
import slowpkg

def f(event):
    return slowpkg.answer((event or {}).get("x"))
`;

function functionsDir(ctx: BenchContext): string {
  const dir = ctx.mkdir('zimp-');
  fs.chmodSync(dir, 0o755);
  fs.mkdirSync(path.join(dir, 'slow'), { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'slow', 'f.py'), FUNCTION, { mode: 0o644 });
  return dir;
}

/**
 * Two workers with the zygote plugins (their SandboxCustomizer mounts slowpkg
 * for `# ol-import`): one makes a zygote for slowpkg at its first cold start
 * (forked from the root zygote), the other never forks (every sandbox fresh).
 */
function kernels(ctx: BenchContext): Promise<[Kernel, Kernel]> {
  const fns = functionsDir(ctx);
  const common = [`registry-dir.dirs=[${fns}]`, `zygote.package_dirs=[${PACKAGES}]`, `zygote-suitability.package_dirs=[${PACKAGES}]`];
  return Promise.all([
    sharedKernel(ctx, { key: 'import-fresh', overrides: zygoteOverrides([...common, 'zygote.root=false', 'zygote.learn=false', 'zygote.check=false']) }),
    sharedKernel(ctx, { key: 'import-zygote', overrides: zygoteOverrides([...common, 'zygote.learn_after=1']) }),
  ]);
}

/** Create a sandbox for `slow` (forked, or fresh) and wait for its first answer: what a request without a warm instance waits for. */
async function coldStart(k: Kernel, x: number): Promise<{ ms: number; sandbox: Sandbox }> {
  const fn = await k.loader.load('slow');
  const t = performance.now();
  const sandbox = await k.backend.create(fn);
  const out = await sandbox.invoke({ requestId: `bench-${x}`, body: Buffer.from(JSON.stringify({ x })), method: 'POST' });
  const ms = performance.now() - t;
  if (!out.ok || JSON.parse(out.body.toString()).x !== x) throw new Error(`slow answered wrongly: ${JSON.stringify(out)}`);
  return { ms, sandbox };
}

/** USS and PSS (MiB) of every process of an idle instance's cgroup. */
async function instanceMemory(sandbox: Sandbox): Promise<{ uss: number; pss: number }> {
  const pids = await (sandbox as unknown as { cgroup: { pids(): Promise<number[]> } }).cgroup.pids();
  const m = pids.map((p) => processMemory(p));
  return { uss: m.reduce((a, x) => a + x.uss, 0) / MIB, pss: m.reduce((a, x) => a + x.pss, 0) / MIB };
}

/**
 * The zygote import cache (issue #3): cold start of a function whose package
 * takes ~200 ms to import, through a zygote that imported it vs a fresh
 * sandbox that imports it, rounds alternating; p50 and p99. And the unique
 * memory of an idle instance of it, forked vs fresh.
 */
export default defineSuite({
  name: 'zygote-import',
  title: 'Cold start of an import-heavy function (slowpkg, ~200 ms): through a zygote vs fresh',
  order: 25,
  async run(ctx) {
    const [fresh, zygote] = await kernels(ctx);
    // Warm-up, outside the figures: the suitability probe and the zygotes' start happen once; the
    // worker's own code paths (JIT) and the zygote's first spares settle over a few more.
    for (let i = 0; i < 3; i++) for (const k of [zygote, fresh]) await (await coldStart(k, -1)).sandbox.destroy('bench warm-up');
    const forksBefore = await zygoteForks(zygote.worker.paths.adminSocket);
    const rounds = ctx.pick(20, 4);
    const viaFresh: number[] = [];
    const viaZygote: number[] = [];
    for (let i = 0; i < rounds; i++) {
      for (const [k, into] of [[fresh, viaFresh], [zygote, viaZygote]] as const) {
        await untilCpusQuiet();
        const { ms, sandbox } = await coldStart(k, i);
        into.push(ms);
        await sandbox.destroy('bench: the next call is a cold start');
      }
      ctx.log(`round ${i + 1}/${rounds}: fresh ${viaFresh[i].toFixed(0)} ms, through the zygote ${viaZygote[i].toFixed(0)} ms`);
    }
    expectForks('zygote-import', (await zygoteForks(zygote.worker.paths.adminSocket)) - forksBefore, rounds);
    // Idle instances after their first call: what each costs in memory of its own.
    const idle = [(await coldStart(fresh, 1000)).sandbox, (await coldStart(zygote, 1000)).sandbox];
    const [memFresh, memZygote] = await Promise.all(idle.map(instanceMemory));
    await Promise.all(idle.map((s) => s.destroy('bench done')));
    const base = (runs: number[]) => ({ label: 'fresh sandbox', runs });
    const p = (xs: number[], q: number) => [percentile(xs, q)];
    return {
      rows: [
        compared('slowpkg cold start p50, through a zygote', 'ms', viaZygote, base(viaFresh), { op: '<=', bound: 0.2 }, 'at least 5x faster'),
        compared('slowpkg cold start p99, through a zygote', 'ms', p(viaZygote, 99), base(p(viaFresh, 99)), { op: '<=', bound: 0.2 }, 'at least 5x faster'),
        compared('slowpkg idle instance, unique (USS), forked', 'MiB', [memZygote.uss], base([memFresh.uss])),
        compared('slowpkg idle instance, PSS, forked', 'MiB', [memZygote.pss], base([memFresh.pss])),
      ],
      notes: [
        `${rounds} cold starts each, alternating, each once the CPUs were idle again (the last round's teardown done): sandbox create (fork from the slowpkg zygote, or fresh) until its first answer, at the SandboxBackend (no HTTP, no scheduler); the p50 row's median is the p50 over rounds (ratio: per paired round), the p99 row holds the p99 of each side`,
        `speed-up: ${(percentile(viaFresh, 50) / percentile(viaZygote, 50)).toFixed(1)}x at p50, ${(percentile(viaFresh, 99) / percentile(viaZygote, 99)).toFixed(1)}x at p99`,
        'memory: one idle instance after its first call, every process of its cgroup; the forked one shares slowpkg\'s ~20 MB of tables with its zygote',
      ],
    };
  },
});
