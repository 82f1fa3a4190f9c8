// The bounded-state test: run 10,000 distinct tiny functions once each
// through the real worker (real sandboxes, cgroups, mounts), wait past the
// eviction TTLs, and show the worker's heap, RSS, open fds, active handles,
// cgroups, mounts and on-disk sandbox state back within a stated bound of the
// starting figures. Figures are printed, and sampled every 1,000 functions
// during the run (the live state stays bounded by rate x TTL, whatever the count).
//
// Every function is a real cold start (a fresh SOCK sandbox: launcher,
// namespaces, cgroup, Python runtime), about 120-150 ms of CPU of this 2-core
// machine each, kernel included (the test prints the split), so 10,000 take
// 10-12 minutes. OL_STATE_TEST_FUNCTIONS lowers the goal for a quick run;
// OL_STATE_TEST_BUDGET_S (default 1,080 s) fails the test rather than let a
// much slower per-function path run CI past its time limit.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { percentile } from '../../../bench/lib/stats';
import { startWorker } from '../../../test/helpers/worker-fixture';
import { FIGURE_KEYS, cgroupOps, cpuSoFar, figures, makeFunctions, runDistinct, untilQuiet, type Figures } from './helpers/state-figures';

const GOAL = Number(process.env.OL_STATE_TEST_FUNCTIONS ?? 10_000);
const BUDGET_MS = Number(process.env.OL_STATE_TEST_BUDGET_S ?? 1080) * 1000;
/** Cold starts in flight: 2-3 keep both cores busy; more only add contention (measured: 8 in flight ran ~20% fewer per second than 2). */
const CONCURRENCY = 3;
/** scheduler-fifo.max_instances: sandboxes alive at once, stopping ones included (past it, idle ones are evicted LRU). */
const MAX_INSTANCES = 48;
const MiB = 1024 * 1024;

/** The bounds, stated once: what "back to the starting figures" means. */
const BOUNDS = {
  heapMiB: 6, // V8 heap after a full GC
  rssMiB: 96, // the allocator keeps freed arenas; RSS is the coarsest figure
  fds: 2, // open file descriptors (undici may keep a pooled socket)
  handles: 2, // process.getActiveResourcesInfo() entries (same: pooled sockets)
};

function boundOf(k: (typeof FIGURE_KEYS)[number]): string {
  if (k in BOUNDS) return '+' + BOUNDS[k as keyof typeof BOUNDS];
  if (k === 'historyKiB') return 'debug records + usage db: their own bounds';
  if (k === 'workerDirKiB') return '+64';
  return '= before';
}

const fmt = (n: number, d = 0) => n.toFixed(d);

test(`distinct functions run once each leave no state behind once idle (goal ${GOAL})`, { timeout: 25 * 60_000 }, async (t) => {
  const registry = fs.mkdtempSync(path.join(os.tmpdir(), 'ol-many-'));
  const started = performance.now();
  makeFunctions(registry, GOAL);
  const w = await startWorker([
    // debug-records keeps the records of the last max_functions functions on purpose: its own bound, reported apart.
    'debug-records.max_functions=32',
    `registry-dir.dirs=[${registry}]`,
    'scheduler-fifo.pause_idle=false',
    `scheduler-fifo.max_instances=${MAX_INSTANCES}`,
    'scheduler-fifo.max_instances_per_function=1',
    'eviction.destroy_after_ms=1500',
    'eviction.forget_after_ms=3000',
    'eviction.sweep_ms=250',
  ]);
  try {
    // Warm up (modules, JIT tiering, HTTP pools count in the baseline: V8 keeps optimising
    // the per-request code for the first thousand or so requests), then let it all go idle.
    const warm = 200;
    const warmRun = await runDistinct(w, 0, warm, { concurrency: CONCURRENCY, deadline: Infinity });
    assert.deepEqual(warmRun.failures, []);
    await untilQuiet(w, 30_000);
    const before = await figures(w);
    const opsBefore = cgroupOps((await w.admin('GET', '/metrics')).text);

    // Samples of the live state as the count grows (taken between runs: the others go on).
    const samples: { ran: number; s: number; f: Figures }[] = [];
    let sampling: Promise<void> = Promise.resolve();
    const load0 = os.loadavg()[0];
    const cpu0 = cpuSoFar(w);
    const t0 = performance.now();
    const res = await runDistinct(w, warm, GOAL, {
      concurrency: CONCURRENCY,
      deadline: started + BUDGET_MS,
      onRan: (ran) => {
        if ((ran + warm) % 1000 !== 0) return;
        const s = (performance.now() - t0) / 1000;
        sampling = sampling.then(async () => void samples.push({ ran: ran + warm, s, f: await figures(w) }));
      },
    });
    const ran = res.ran;
    const runSeconds = (performance.now() - t0) / 1000;
    await sampling;
    assert.deepEqual(res.failures.slice(0, 5), [], `${res.failures.length} runs failed`);
    const peak = await figures(w);
    const opsPeak = cgroupOps((await w.admin('GET', '/metrics')).text);
    await untilQuiet(w, 60_000);
    const cpu1 = cpuSoFar(w);
    const after = await figures(w);

    const rate = ran / runSeconds;
    const workerCpu = (cpu1.worker - cpu0.worker) / ran;
    const sandboxCpu = (cpu1.sandboxes - cpu0.sandboxes) / ran;
    const lat = [...res.latenciesMs].sort((a, b) => a - b);
    const opMs = (op: string) => {
      const a = opsPeak[op];
      const b = opsBefore[op] ?? { seconds: 0, count: 0 };
      return a && a.count > b.count ? `${op} ${fmt(((a.seconds - b.seconds) * 1000) / (a.count - b.count), 1)} ms` : null;
    };
    const report = [
      `distinct functions run: ${ran + warm} of the ${GOAL} goal (${ran} measured + ${warm} warm-up) in ${fmt(runSeconds)} s: ${fmt(rate, 1)} functions/s at concurrency ${CONCURRENCY}; load average ${fmt(load0, 2)} -> ${fmt(os.loadavg()[0], 2)} on ${os.cpus().length} CPUs`,
      ran + warm < GOAL ? `  the time budget (${BUDGET_MS / 1000} s) ended the run; at this rate ${GOAL} would take ${fmt(GOAL / rate / 60, 1)} min` : '  the whole goal ran',
      `  per function: latency p50 ${fmt(percentile(lat, 50))} ms, p90 ${fmt(percentile(lat, 90))} ms (a cold start each); CPU ${fmt(workerCpu)} ms in the worker process (launcher spawn, HTTP, cgroup files, records) + ${fmt(sandboxCpu)} ms in its sandboxes (launcher, runtime start, the call, kill)`,
      `  => ${GOAL} functions need ${fmt((GOAL * (workerCpu + sandboxCpu)) / 60_000, 1)} CPU-minutes: ${fmt((GOAL * (workerCpu + sandboxCpu)) / 60_000 / os.cpus().length, 1)} min with every core busy`,
      `  cgroup operations (mean, /metrics): ${Object.keys(opsPeak).map(opMs).filter(Boolean).join(', ')}`,
      `  live state while running (eviction TTLs 1.5 s / 3 s):`,
      `    ran      s  heapMiB  rssMiB   fds  cgroups  sandboxDirs  cached  metricSeries`,
      ...samples.map(({ ran: n, s, f }) => `    ${String(n).padStart(5)} ${fmt(s).padStart(6)} ${String(f.heapMiB).padStart(8)} ${String(f.rssMiB).padStart(7)} ${String(f.fds).padStart(5)} ${String(f.cgroups).padStart(8)} ${String(f.sandboxDirs).padStart(12)} ${String(f.cachedFunctions).padStart(7)} ${String(f.metricSeries).padStart(13)}`),
      `  figure           before     peak      after   bound`,
      ...FIGURE_KEYS.map((k) => `  ${k.padEnd(15)} ${String(before[k]).padStart(8)} ${String(peak[k]).padStart(8)} ${String(after[k]).padStart(10)}   ${boundOf(k)}`),
      `  handle types before ${JSON.stringify(before.handleTypes)} after ${JSON.stringify(after.handleTypes)}`,
      `  heap per function run (after - before) / ran: ${fmt(((after.heapMiB - before.heapMiB) * MiB) / ran)} bytes`,
    ].join('\n');
    t.diagnostic(report);
    console.log(report);

    assert.equal(ran + warm, GOAL, `only ${ran + warm} of ${GOAL} functions ran in the ${BUDGET_MS / 1000} s budget: the per-function path got much slower`);
    for (const { ran: n, f } of samples) assert.ok(f.sandboxDirs <= MAX_INSTANCES, `${f.sandboxDirs} sandbox dirs after ${n} functions: more than the instance cap`);
    assert.equal(after.cachedFunctions, 0);
    assert.equal(after.liveFunctions, 0);
    assert.ok(after.metricSeries <= before.metricSeries, `metric series ${before.metricSeries} -> ${after.metricSeries}`);
    assert.equal(after.cgroups, before.cgroups, 'sandbox cgroups left');
    assert.equal(after.mounts, before.mounts, 'mounts left under the worker dir');
    assert.equal(after.sandboxDirs, 0, 'sandbox directories left');
    assert.ok(after.workerDirKiB <= before.workerDirKiB + 64, 'worker dir grew');
    assert.ok(after.heapMiB <= before.heapMiB + BOUNDS.heapMiB, `heap ${before.heapMiB} -> ${after.heapMiB} MiB`);
    assert.ok(after.rssMiB <= before.rssMiB + BOUNDS.rssMiB, `RSS ${before.rssMiB} -> ${after.rssMiB} MiB`);
    assert.ok(after.fds <= before.fds + BOUNDS.fds, `fds ${before.fds} -> ${after.fds}`);
    assert.ok(after.handles <= before.handles + BOUNDS.handles, `handles ${JSON.stringify(before.handleTypes)} -> ${JSON.stringify(after.handleTypes)}`);
    assert.equal(after.handleTypes.Timeout ?? 0, before.handleTypes.Timeout ?? 0, 'a timer outlived the idle period');
  } finally {
    await w.stop();
    fs.rmSync(registry, { recursive: true, force: true });
  }
});
