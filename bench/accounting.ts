/**
 * Does the budget check add latency to /run? Runnable alone, as root:
 *
 *   npx tsc -p . && node dist/bench/accounting.js [--calls 600]
 *
 * Warm /run/echo at concurrency 1 through in-process workers that differ
 * only in accounting: accounting-sqlite without budgets (the baseline), with 100
 * budgets (one covering the caller), and (when redis-server is installed)
 * accounting-redis sharing that budget through leases. Rounds alternate
 * between the workers, so each pair of figures shares the machine's state.
 * Then the check alone: BudgetLedger.admit() with 100 budgets, per call.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_CONFIG_FILE, loadWorkerConfig } from '../core/config/load-config';
import { BudgetLedger } from '../plugins/accounting-sqlite/budget-ledger';
import { startWorker, type RunningWorker } from '../test/helpers/worker-fixture';
import { percentile } from './lib/stats';

const CALLS = Number(process.argv[process.argv.indexOf('--calls') + 1]) || 600;
const ROUND = 10;
const plugins = loadWorkerConfig(DEFAULT_CONFIG_FILE).plugins;
/** 99 budgets for other owners and one that covers `default` (echo's owner) with room to spare. */
const budgets = `[${Array.from({ length: 99 }, (_, i) => `{owner: o${i}, period: 1h, invocations: 1000}`).join(', ')}, {owner: default, period: 1h, invocations: 1000000, cpu_seconds: 100000}]`;

interface Variant {
  name: string;
  overrides: string[];
  w?: RunningWorker;
  ms: number[];
}

async function redisUrl(): Promise<{ url: string; stop: () => void } | undefined> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-redis-'));
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''], { stdio: ['ignore', 'pipe', 'ignore'] });
  const ready = await new Promise<boolean>((resolve) => {
    proc.on('error', () => resolve(false));
    proc.stdout!.on('data', (d: Buffer) => d.toString().includes('Ready to accept') && resolve(true));
  });
  if (!ready) return undefined;
  return { url: `redis://127.0.0.1:${port}`, stop: () => (proc.kill(), rmSync(dir, { recursive: true, force: true })) };
}

async function main(): Promise<void> {
  const redis = await redisUrl();
  const variants: Variant[] = [
    { name: 'accounting-sqlite, no budgets', overrides: [], ms: [] },
    { name: 'accounting-sqlite, 100 budgets', overrides: [`accounting-sqlite.budgets=${budgets}`], ms: [] },
  ];
  if (redis) variants.push({ name: 'accounting-redis (leases), 100 budgets', overrides: [`plugins=[${[...plugins, 'accounting-redis'].join(', ')}]`, `accounting-redis.url=${redis.url}`, 'accounting-redis.lease={invocations: 100}', `accounting-redis.budgets=${budgets}`], ms: [] });
  else process.stderr.write('redis-server not installed: skipping the accounting-redis variant\n');
  for (const v of variants) {
    v.w = await startWorker(['scheduler-fifo.pause_idle=false', ...v.overrides]);
    for (let i = 0; i < 20; i++) await v.w.run('echo', {}); // warm
  }
  for (let done = 0; done < CALLS; done += ROUND) {
    for (const v of variants) {
      for (let i = 0; i < ROUND; i++) {
        const t = performance.now();
        const r = await v.w!.run('echo', { i });
        v.ms.push(performance.now() - t);
        if (r.status !== 200) throw new Error(`${v.name}: /run/echo answered ${r.status}: ${r.text}`);
      }
    }
  }
  for (const v of variants) await v.w!.stop();
  redis?.stop();

  const base = percentile(variants[0].ms, 50);
  console.log(`warm /run/echo, concurrency 1, ${CALLS} calls per variant, rounds of ${ROUND} alternating (load ${os.loadavg()[0].toFixed(2)} on ${os.cpus().length} CPUs)\n`);
  console.log('| variant | p50 ms | p90 ms | p99 ms | p50 / no budgets |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const v of variants) {
    const [p50, p90, p99] = [50, 90, 99].map((p) => percentile(v.ms, p));
    console.log(`| ${v.name} | ${p50.toFixed(3)} | ${p90.toFixed(3)} | ${p99.toFixed(3)} | ${(p50 / base).toFixed(3)} |`);
  }

  const ledger = new BudgetLedger(
    Array.from({ length: 100 }, (_, i) => ({ owner: i === 99 ? 'default' : `o${i}`, period: '1h', invocations: 1e12 })),
    () => ({ invocations: 0, cpu_seconds: 0, gb_seconds: 0 }),
  );
  const N = 1_000_000;
  const t = performance.now();
  for (let i = 0; i < N; i++) ledger.admit({ requestId: 'x', function: 'echo', owner: 'default' });
  const ns = ((performance.now() - t) * 1e6) / N;
  console.log(`\nBudgetLedger.admit() with 100 budgets: ${ns.toFixed(0)} ns per call (${N} calls)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
