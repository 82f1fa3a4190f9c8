/**
 * `node dist/bench/function-state.js [--budget-s S] [counts...]` (default
 * counts 100 1000 10000): worker memory and disk against the number of
 * distinct functions run. For each count it starts a fresh in-process worker
 * (default config and plugins, short eviction TTLs), runs that many generated
 * functions once each through real sandboxes, and prints the worker's heap,
 * RSS, fds, cgroups, mounts, cached functions and its dir's size (state, and
 * the history debug-records and accounting keep under their own bounds)
 * right after the runs and again once the eviction TTLs have passed, with
 * the rate and the CPU per function (worker process, sandboxes).
 *
 * Standalone, not a bench/run.ts suite: the 10,000 row alone takes
 * 15-40 minutes on 2 cores (each function is a real cold start).
 * --budget-s stops a count early and says so.
 */
import 'reflect-metadata';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { percentile } from './lib/stats';
import { startWorker } from '../test/helpers/worker-fixture';
import { cpuSoFar, figures, makeFunctions, runDistinct, untilQuiet, type Figures } from '../plugins/eviction/test/helpers/state-figures';
import type { RunningWorker } from '../test/helpers/worker-fixture';

/** Cold starts in flight: enough to keep 2 cores busy while others wait on I/O. */
const CONCURRENCY = 4;

interface Row {
  functions: number;
  ran: number;
  seconds: number;
  rate: number;
  p50Ms: number;
  workerCpuMs: number;
  sandboxCpuMs: number;
  phase: string;
  f: Figures;
}

/** The worker of the count being measured: Ctrl-C stops it, so its sandboxes do not outlive the bench. */
let current: RunningWorker | undefined;
/** Generated registry dirs not yet removed. */
const registries = new Set<string>();
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    process.stderr.write(`${sig}: stopping the worker\n`);
    void (current?.stop() ?? Promise.resolve()).finally(() => {
      for (const dir of registries) fs.rmSync(dir, { recursive: true, force: true });
      process.exit(130);
    });
  });
}

async function runCount(n: number, budgetMs: number): Promise<Row[]> {
  const registry = fs.mkdtempSync(path.join(os.tmpdir(), 'olb-fns-'));
  registries.add(registry);
  makeFunctions(registry, n);
  const w = (current = await startWorker([
    `registry-dir.dirs=[${registry}]`,
    'scheduler-fifo.pause_idle=false',
    'scheduler-fifo.max_instances=32',
    'eviction.destroy_after_ms=1500',
    'eviction.forget_after_ms=3000',
    'eviction.sweep_ms=250',
  ]));
  try {
    const cpu0 = cpuSoFar(w);
    const t0 = performance.now();
    const res = await runDistinct(w, 0, n, {
      concurrency: CONCURRENCY,
      deadline: t0 + budgetMs,
      onRan: (ran) => ran % 1000 === 0 && process.stderr.write(`  ${ran}/${n} in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`),
    });
    const seconds = (performance.now() - t0) / 1000;
    if (res.failures.length) throw new Error(`${res.failures.length} runs failed, first: ${res.failures[0]}`);
    const peak = await figures(w);
    await untilQuiet(w, 120_000);
    const cpu1 = cpuSoFar(w);
    const after = await figures(w);
    const common = {
      functions: n,
      ran: res.ran,
      seconds: +seconds.toFixed(1),
      rate: +(res.ran / seconds).toFixed(1),
      p50Ms: Math.round(percentile(res.latenciesMs, 50)),
      workerCpuMs: Math.round((cpu1.worker - cpu0.worker) / res.ran),
      sandboxCpuMs: Math.round((cpu1.sandboxes - cpu0.sandboxes) / res.ran),
    };
    return [
      { ...common, phase: 'after runs', f: peak },
      { ...common, phase: 'after TTL', f: after },
    ];
  } finally {
    current = undefined;
    await w.stop();
    fs.rmSync(registry, { recursive: true, force: true });
    registries.delete(registry);
  }
}

const COLUMNS: [string, (r: Row) => string | number][] = [
  ['functions', (r) => r.functions],
  ['ran', (r) => r.ran],
  ['s', (r) => r.seconds],
  ['fn/s', (r) => r.rate],
  ['p50 ms', (r) => r.p50Ms],
  ['CPU/fn worker ms', (r) => r.workerCpuMs],
  ['CPU/fn sandboxes ms', (r) => r.sandboxCpuMs],
  ['phase', (r) => r.phase],
  ['heap MiB', (r) => r.f.heapMiB],
  ['RSS MiB', (r) => r.f.rssMiB],
  ['fds', (r) => r.f.fds],
  ['cgroups', (r) => r.f.cgroups],
  ['mounts', (r) => r.f.mounts],
  ['cached fns', (r) => r.f.cachedFunctions],
  ['state disk KiB', (r) => r.f.workerDirKiB],
  ['history disk KiB', (r) => r.f.historyKiB],
];

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let budgetS = Infinity;
  const at = args.indexOf('--budget-s');
  if (at >= 0) {
    budgetS = Number(args[at + 1]);
    args.splice(at, 2);
  }
  const counts = args.length ? args.map(Number) : [100, 1000, 10000];
  console.log(`load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} on ${os.cpus().length} CPUs`);
  console.log(`| ${COLUMNS.map((c) => c[0]).join(' | ')} |`);
  console.log(`|${COLUMNS.map(() => ' --- ').join('|')}|`);
  for (const n of counts) {
    for (const r of await runCount(n, budgetS * 1000)) console.log(`| ${COLUMNS.map((c) => c[1](r)).join(' | ')} |`);
  }
  console.log(`load average at end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
