// What a worker holds, measured from outside its code: used by the
// bounded-state test (distinct-functions.test.ts) and by the benchmark
// (bench/function-state.ts), so both print the same figures the same way.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { cgroupsNamed, mountsUnder, type RunningWorker } from '../../../../test/helpers/worker-fixture';

const MiB = 1024 * 1024;

/** A full GC: heap figures without garbage that merely has not been collected yet. */
export const gc: () => void = (() => {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc');
})();

export interface Figures {
  heapMiB: number;
  rssMiB: number;
  fds: number;
  handles: number;
  handleTypes: Record<string, number>;
  cgroups: number;
  mounts: number;
  sandboxDirs: number;
  /** The worker dir without the history files (code, sandboxes, sockets, state). */
  workerDirKiB: number;
  historyKiB: number;
  cachedFunctions: number;
  liveFunctions: number;
  /** Prometheus series labelled with a generated function's name (core metrics, accounting): dropped when the function is forgotten. */
  metricSeries: number;
}

export const FIGURE_KEYS = ['heapMiB', 'rssMiB', 'fds', 'handles', 'cgroups', 'mounts', 'sandboxDirs', 'workerDirKiB', 'historyKiB', 'cachedFunctions', 'liveFunctions', 'metricSeries'] as const;

/**
 * Files other plugins keep on purpose as history, each bounded by its own
 * config: debug-records' records (max_functions) and accounting-sqlite's
 * usage database. Reported, not held to the state bound.
 */
function isHistory(p: string): boolean {
  const base = path.basename(p);
  return base === 'debug' || base.startsWith('accounting.sqlite');
}

/** Bytes under `dir`, in KiB, leaving out the entries `exclude` picks. */
function duKiB(dir: string, exclude: (p: string) => boolean = () => false): number {
  let bytes = 0;
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (exclude(p)) continue;
      if (e.isDirectory()) walk(p);
      else bytes += fs.lstatSync(p).size;
    }
  };
  walk(dir);
  return Math.round(bytes / 1024);
}

/** Cgroups below `dir` (one per sandbox, in each hierarchy). */
function subdirs(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) n += 1 + subdirs(path.join(dir, e.name));
  return n;
}

export async function figures(w: RunningWorker): Promise<Figures> {
  gc();
  gc();
  const mem = process.memoryUsage();
  const handleTypes: Record<string, number> = {};
  for (const t of process.getActiveResourcesInfo()) handleTypes[t] = (handleTypes[t] ?? 0) + 1;
  const stats = (await w.admin('GET', '/stats')).json;
  const metrics = (await w.admin('GET', '/metrics')).text;
  const sandboxes = w.worker.paths.sandboxes;
  return {
    heapMiB: +(mem.heapUsed / MiB).toFixed(2),
    rssMiB: +(mem.rss / MiB).toFixed(1),
    fds: fs.readdirSync('/proc/self/fd').length,
    handles: process.getActiveResourcesInfo().length,
    handleTypes,
    cgroups: cgroupsNamed(w.worker.paths.scope).reduce((n, scopeDir) => n + subdirs(scopeDir), 0),
    mounts: mountsUnder(w.dir).length,
    sandboxDirs: fs.existsSync(sandboxes) ? fs.readdirSync(sandboxes).length : 0,
    workerDirKiB: duKiB(w.dir, isHistory),
    historyKiB: duKiB(w.dir) - duKiB(w.dir, isHistory),
    cachedFunctions: stats.functions.cached,
    liveFunctions: stats.scheduler.functions,
    metricSeries: metrics.split('\n').filter((l) => /function="fn\d+"/.test(l)).length,
  };
}

/** `n` distinct tiny functions fn0..fn<n-1>, each answering its own number, in a read-only registry dir. */
export function makeFunctions(dir: string, n: number): void {
  for (let i = 0; i < n; i++) {
    fs.mkdirSync(path.join(dir, `fn${i}`));
    fs.writeFileSync(path.join(dir, `fn${i}`, 'f.py'), `def f(event):\n    return {"n": ${i}, "echo": event}\n`);
  }
}

export interface RunResult {
  ran: number;
  failures: string[];
  /** Client-side latency of each request, ms (a cold start each). */
  latenciesMs: number[];
}

/** Run fn<from>..fn<to-1> once each, `concurrency` at a time, until done or `deadline` (performance.now()). */
export async function runDistinct(w: RunningWorker, from: number, to: number, opts: { concurrency: number; deadline: number; onRan?: (ran: number) => void }): Promise<RunResult> {
  let next = from;
  const out: RunResult = { ran: 0, failures: [], latenciesMs: [] };
  await Promise.all(
    Array.from({ length: opts.concurrency }, async () => {
      while (next < to && performance.now() < opts.deadline) {
        const i = next++;
        const t = performance.now();
        const r = await w.run(`fn${i}`, { i });
        out.latenciesMs.push(performance.now() - t);
        if (r.status !== 200 || r.json?.n !== i) out.failures.push(`fn${i}: ${r.status} ${r.text.slice(0, 200)}`);
        out.ran++;
        opts.onRan?.(out.ran);
      }
    }),
  );
  return out;
}

/** Wait until the sweeper has released everything and stopped (policies run on its timer). */
export async function untilQuiet(w: RunningWorker, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const s = (await w.admin('GET', '/stats')).json;
    const ev = (await w.admin('GET', '/stats/eviction')).json;
    const inst = Object.values(s.scheduler.instances as Record<string, number>).reduce((a, b) => a + b, 0);
    if (inst === 0 && s.functions.cached === 0 && ev.sweeper.running === false) return;
    if (Date.now() > end) throw new Error(`state not released within ${ms} ms: ${JSON.stringify({ s, ev })}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * CPU used so far, ms: this process (the worker, and the test's HTTP client)
 * and every sandbox of the worker. A launcher joins its sandbox's cgroup
 * before anything else, so its work counts under sandboxes (adding this
 * process's reaped-children time would count it twice).
 */
export interface CpuSplit {
  worker: number;
  sandboxes: number;
}

export function cpuSoFar(w: RunningWorker): CpuSplit {
  const self = process.cpuUsage();
  return { worker: (self.user + self.system) / 1000, sandboxes: scopeCpuMs(w.worker.paths.scope) };
}

/**
 * CPU of everything below the worker's scope cgroup, removed sandboxes
 * included: the kernel charges v1 cpuacct up the hierarchy as it runs, and
 * v2 folds a removed child's cpu.stat into its parent.
 */
function scopeCpuMs(scope: string): number {
  for (const dir of cgroupsNamed(scope)) {
    const v1 = path.join(dir, 'cpuacct.usage');
    if (fs.existsSync(v1)) return Number(fs.readFileSync(v1, 'utf8')) / 1e6;
    const stat = path.join(dir, 'cpu.stat');
    const usec = fs.existsSync(stat) ? /^usage_usec (\d+)$/m.exec(fs.readFileSync(stat, 'utf8')) : null;
    if (usec) return Number(usec[1]) / 1000;
  }
  return NaN;
}

/** Sum and count of each cgroup operation (create, kill, rmdir...) from /metrics: where the cgroup part of a cold start goes. */
export function cgroupOps(metricsText: string): Record<string, { seconds: number; count: number }> {
  const ops: Record<string, { seconds: number; count: number }> = {};
  for (const m of metricsText.matchAll(/^ol_cgroup_op_seconds_(sum|count)\{[^}]*op="([^"]+)"[^}]*\} ([\d.e+-]+)$/gm)) {
    const op = (ops[m[2]] ??= { seconds: 0, count: 0 });
    if (m[1] === 'sum') op.seconds += Number(m[3]);
    else op.count += Number(m[3]);
  }
  return ops;
}
