/**
 * `node dist/bench/function-state.js [--budget-s S] [counts...]` (default
 * counts 100 1000 10000): worker memory and disk against the number of
 * distinct functions run. For each count it starts a fresh in-process worker
 * (default config, short eviction TTLs), runs that many generated functions
 * once each through real sandboxes, and prints heap, RSS, fds, cached
 * functions and the worker dir's size right after the runs and again once
 * the eviction TTLs have passed. Standalone: not part of bench/run.ts.
 *
 * A real sandbox costs 0.2-0.3 s on a 2-core machine, so 10,000 functions
 * take 30-45 minutes; --budget-s stops a count early and says so.
 */
import 'reflect-metadata';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import pino from 'pino';
import { Client, Pool } from 'undici';
import { DEFAULT_CONFIG_FILE } from '../core/config/load-config';
import { Worker } from '../core/lifecycle/worker';

v8.setFlagsFromString('--expose-gc');
const gc: () => void = vm.runInNewContext('gc');
const MiB = 1024 * 1024;
const CONCURRENCY = 8;

interface Row {
  functions: number;
  ran: number;
  seconds: number;
  phase: string;
  heapMiB: number;
  rssMiB: number;
  fds: number;
  cached: number;
  diskKiB: number;
}

function du(dir: string): number {
  let bytes = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    bytes += e.isDirectory() ? du(p) : fs.lstatSync(p).size;
  }
  return bytes;
}

async function measure(w: Worker, admin: Client, dir: string): Promise<Omit<Row, 'functions' | 'ran' | 'seconds' | 'phase'>> {
  gc();
  const stats = (await (await admin.request({ method: 'GET', path: '/stats' })).body.json()) as any;
  return {
    heapMiB: +(process.memoryUsage().heapUsed / MiB).toFixed(1),
    rssMiB: +(process.memoryUsage().rss / MiB).toFixed(1),
    fds: fs.readdirSync('/proc/self/fd').length,
    cached: stats.functions.cached,
    diskKiB: Math.round(du(dir) / 1024),
  };
}

async function runCount(n: number, budgetMs: number): Promise<Row[]> {
  const registry = fs.mkdtempSync(path.join(os.tmpdir(), 'olb-fns-'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'olb-w-'));
  for (let i = 0; i < n; i++) {
    fs.mkdirSync(path.join(registry, `fn${i}`));
    fs.writeFileSync(path.join(registry, `fn${i}`, 'f.py'), `def f(event):\n    return ${i}\n`);
  }
  const w = await Worker.start({
    dir,
    configFile: DEFAULT_CONFIG_FILE,
    overrides: ['http.port=0', `registry-dir.dirs=[${registry}]`, 'scheduler-fifo.pause_idle=false', 'scheduler-fifo.max_instances=16', 'eviction.destroy_after_ms=2000', 'eviction.forget_after_ms=4000', 'eviction.sweep_ms=250'],
    logger: pino({ level: 'silent' }),
  });
  const pub = new Pool(`http://127.0.0.1:${w.port}`, { connections: CONCURRENCY });
  const admin = new Client('http://localhost', { socketPath: w.paths.adminSocket });
  const rows: Row[] = [];
  try {
    const t0 = performance.now();
    let next = 0;
    let ran = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < n && performance.now() - t0 < budgetMs) {
          const i = next++;
          const res = await pub.request({ method: 'POST', path: `/run/fn${i}`, body: '{}' });
          await res.body.text();
          ran++;
          if (ran % 500 === 0) process.stderr.write(`  ${ran}/${n} in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
        }
      }),
    );
    const seconds = +((performance.now() - t0) / 1000).toFixed(1);
    rows.push({ functions: n, ran, seconds, phase: 'after runs', ...(await measure(w, admin, dir)) });
    for (;;) {
      const m = await measure(w, admin, dir);
      if (m.cached === 0) {
        rows.push({ functions: n, ran, seconds, phase: 'after TTL', ...m });
        break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await pub.close();
    await admin.close();
    await w.stop();
    fs.rmSync(registry, { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let budgetS = Infinity;
  const at = args.indexOf('--budget-s');
  if (at >= 0) {
    budgetS = Number(args[at + 1]);
    args.splice(at, 2);
  }
  const counts = args.length ? args.map(Number) : [100, 1000, 10000];
  console.log('functions  ran   seconds  phase        heapMiB  rssMiB  fds  cached  workerDirKiB');
  for (const n of counts) {
    for (const r of await runCount(n, budgetS * 1000)) {
      console.log(
        `${String(r.functions).padStart(9)} ${String(r.ran).padStart(5)} ${String(r.seconds).padStart(9)}  ${r.phase.padEnd(11)} ${String(r.heapMiB).padStart(8)} ${String(r.rssMiB).padStart(7)} ${String(r.fds).padStart(4)} ${String(r.cached).padStart(7)} ${String(r.diskKiB).padStart(13)}`,
      );
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
