import { createHash } from 'node:crypto';
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startWorker, type RunningWorker } from '../../../test/helpers/worker-fixture';
import { startRedis, type TestRedis } from './redis-server';
import { DEFAULT_CONFIG_FILE, loadWorkerConfig } from '../../../core/config/load-config';

/**
 * Three real workers on this machine share one owner's budget through one
 * real redis-server. Load is driven at all three at once; the owner's total
 * admitted invocations must stay within the documented bound:
 *   limit - (workers x 1.5 slices)  <=  admitted  <=  limit.
 */
const LIMIT = 30;
const SLICE = 4;
const WORKERS = 3;
const PER_WORKER = 25;
const CONCURRENCY = 4;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ol-redis-acct-'));
const fnDir = path.join(tmp, 'functions');
mkdirSync(path.join(fnDir, 'dave-fn'), { recursive: true });
writeFileSync(path.join(fnDir, 'dave-fn', 'f.py'), 'def f(event):\n    return "ok"\n');
writeFileSync(path.join(fnDir, 'dave-fn', 'ol.yaml'), 'owner: dave\n');
mkdirSync(path.join(fnDir, 'erin-fn'), { recursive: true });
writeFileSync(path.join(fnDir, 'erin-fn', 'f.py'), 'def f(event):\n    return "ok"\n');
writeFileSync(path.join(fnDir, 'erin-fn', 'ol.yaml'), 'owner: erin\n');

let redis: TestRedis;
const workers: RunningWorker[] = [];
after(async () => {
  for (const w of workers) await w.stop().catch(() => undefined);
  await redis?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** The default plugin set plus accounting-redis. */
const PLUGINS = `plugins=[${[...loadWorkerConfig(DEFAULT_CONFIG_FILE).plugins, 'accounting-redis'].join(', ')}]`;
function overrides(url: string, policy = 'lease'): string[] {
  return [
    PLUGINS,
    `registry-dir.dirs=[${fnDir}]`,
    `accounting-redis.url=${url}`,
    `accounting-redis.lease={invocations: ${SLICE}}`,
    `accounting-redis.on_unreachable=${policy}`,
    'accounting-redis.timeout_ms=200',
    `accounting-redis.budgets=[{owner: dave, period: 1h, invocations: ${LIMIT}}, {owner: erin, period: 1h, invocations: 100}]`,
  ];
}

async function drive(w: RunningWorker, fn: string, n: number): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) {
        next++;
        statuses.push((await w.run(fn, {})).status);
      }
    }),
  );
  return statuses;
}

test('start redis-server and three workers sharing its budgets', async () => {
  redis = await startRedis();
  for (let i = 0; i < WORKERS; i++) workers.push(await startWorker(overrides(redis.url)));
});

test('under load at all three workers, the owner never gets more than its budget, and nearly all of it', async (t) => {
  const results = (await Promise.all(workers.map((w) => drive(w, 'dave-fn', PER_WORKER)))).flat();
  const ok = results.filter((s) => s === 200).length;
  const refused = results.filter((s) => s === 429).length;
  assert.equal(ok + refused, WORKERS * PER_WORKER, `only 200 and 429: ${results}`);
  t.diagnostic(`admitted ${ok} of ${WORKERS * PER_WORKER} calls against a budget of ${LIMIT} (slice ${SLICE}, ${WORKERS} workers)`);
  assert.ok(ok <= LIMIT, `admitted ${ok} > limit ${LIMIT}`);
  assert.ok(ok >= LIMIT - WORKERS * SLICE * 1.5, `admitted ${ok}, less than limit - outstanding leases (${LIMIT - WORKERS * SLICE * 1.5})`);
  // Redis saw every granted slice: never more than the limit.
  const keys = await redis.client.keys('ol:budget:*');
  const granted = await Promise.all(keys.map((k) => redis.client.hget(k, 'granted:invocations')));
  assert.ok(granted.some((g) => Number(g) > 0 && Number(g) <= LIMIT), `granted: ${granted}`);
  // Another owner's budget is untouched by dave's.
  assert.equal((await workers[0].run('erin-fn', {})).status, 200);
});

test('a refused call says which budget and when it resets', async () => {
  const r = await workers[1].run('dave-fn', {});
  assert.equal(r.status, 429);
  assert.equal(r.json.error.budget, 'owner dave: per 1h');
  assert.ok(Date.parse(r.json.error.resets_at) > Date.now());
});

test('leases not spent are given back on stop, so another worker can use them', async () => {
  // erin has 100; each worker leased at most a slice or two of it.
  const before = await Promise.all((await redis.client.keys('ol:budget:*')).map(async (k) => [k, await redis.client.hgetall(k)] as const));
  // erin's window key: the prefix, the budget's id (as shared-budgets.ts derives it), the window start.
  const erinId = createHash('sha256').update(JSON.stringify(['erin', null, '1h'])).digest('hex').slice(0, 16);
  const erin = before.find(([k]) => k.startsWith(`ol:budget:${erinId}:`));
  assert.ok(erin, JSON.stringify(before));
  const w = workers.shift()!;
  await w.stop();
  const after = await redis.client.hget(erin[0], 'granted:invocations');
  assert.ok(Number(after) < Number(erin[1]['granted:invocations']), `granted ${erin[1]['granted:invocations']} -> ${after}`);
});

test('Redis unreachable: "lease" spends what is leased, then refuses; "closed" refuses at once', async () => {
  const lease = workers[0];
  const closed = await startWorker(overrides(redis.url, 'closed'));
  workers.push(closed);
  // Both lease erin's budget while Redis is up.
  assert.equal((await lease.run('erin-fn', {})).status, 200);
  assert.equal((await closed.run('erin-fn', {})).status, 200);
  await redis.stop();
  // closed: the next lease attempt fails and every later call is refused.
  const statuses = (await drive(closed, 'erin-fn', SLICE + 2));
  assert.ok(statuses.includes(429), `closed policy: ${statuses}`);
  const r = await closed.run('erin-fn', {});
  assert.equal(r.status, 429);
  assert.match(r.json.error.message, /Redis\) is unreachable/);
  // lease: at most what it still holds, then refusals naming Redis.
  const leased = await drive(lease, 'erin-fn', 3 * SLICE);
  const okCount = leased.filter((s) => s === 200).length;
  assert.ok(okCount <= 2 * SLICE, `lease policy admitted ${okCount}`);
  assert.ok(leased.includes(429));
  redis = { ...redis, stop: async () => undefined };
});
