import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startWorker, type RunningWorker } from '../../../test/helpers/worker-fixture';

const run = promisify(execFile);

/**
 * Usage accounting end to end on a real worker: X-OL-Usage per invocation
 * (measured from the sandbox's cgroup), cumulative usage per owner and
 * function at GET /usage, kept in SQLite across a worker restart, budgets
 * that answer 429 saying which budget and when it resets, Prometheus counters.
 */
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ol-acct-'));
const fnDir = path.join(tmp, 'functions');
const dbFile = path.join(tmp, 'usage.sqlite');
after(() => rmSync(tmp, { recursive: true, force: true }));

function writeFn(name: string, owner: string, code: string): void {
  mkdirSync(path.join(fnDir, name), { recursive: true });
  writeFileSync(path.join(fnDir, name, 'f.py'), code);
  writeFileSync(path.join(fnDir, name, 'ol.yaml'), `owner: ${owner}\n`);
}

// Burns ~100 ms of CPU and touches 40 MiB, so every figure has something to show.
writeFn('spin', 'alice', 'import time\ndef f(event):\n    b = bytearray(40 * 1024 * 1024)\n    for i in range(0, len(b), 4096): b[i] = 1\n    t = time.process_time()\n    while time.process_time() - t < 0.1: pass\n    return len(b)\n');
writeFn('small', 'carol', 'def f(event):\n    return "ok"\n');
writeFn('other', 'bob', 'def f(event):\n    return "ok"\n');

const budgets = '[{owner: carol, period: 1h, invocations: 3}, {function: other, period: 1d, cpu_seconds: 0}]';
const overrides = [`registry-dir.dirs=[${fnDir}]`, `accounting-sqlite.file=${dbFile}`, 'accounting-sqlite.flush_ms=20', `accounting-sqlite.budgets=${budgets}`];
let w: RunningWorker;

function usageHeader(h: string | string[] | undefined): Record<string, string> {
  assert.equal(typeof h, 'string', 'X-OL-Usage is present');
  return Object.fromEntries((h as string).split('; ').map((kv) => kv.split('=')));
}

test('start a worker with accounting-sqlite and two budgets', async () => {
  w = await startWorker(overrides);
});

let spinRequest = '';
test('each response carries X-OL-Usage measured from the sandbox cgroup', async () => {
  for (let i = 0; i < 2; i++) {
    const r = await w.run('spin', {});
    assert.equal(r.status, 200, r.text);
    const u = usageHeader(r.headers['x-ol-usage']);
    assert.ok(Number(u.wall_ms) >= 100, `wall_ms ${u.wall_ms}`);
    assert.ok(Number(u.cpu_user_ms) + Number(u.cpu_system_ms) >= 80, `cpu ${u.cpu_user_ms} + ${u.cpu_system_ms}`);
    assert.ok(Number(u.memory_peak_bytes) >= 40 * 1024 * 1024, `peak ${u.memory_peak_bytes}`);
    // cgroup v1: memory.max_usage_in_bytes is reset before each run, so the peak is this invocation's own.
    assert.equal(u.memory_peak_scope, 'invocation');
    spinRequest = r.headers['x-request-id'] as string;
  }
});

test('GET /usage sums per owner and function; GET /usage/requests/<id> has the invocation', async () => {
  await w.run('small', {});
  const r = await w.admin('GET', '/usage?owner=alice');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.usage.length, 1);
  const row = r.json.usage[0];
  assert.equal(row.owner, 'alice');
  assert.equal(row.function, 'spin');
  assert.equal(row.invocations, 2);
  assert.ok(row.cpu_user_seconds + row.cpu_system_seconds >= 0.16, JSON.stringify(row));
  assert.ok(row.gb_seconds > 0);
  const all = await w.admin('GET', `/usage?from=${Date.now() - 3600_000}&to=${new Date(Date.now() + 1000).toISOString()}`);
  assert.deepEqual(all.json.usage.map((x: any) => `${x.owner}/${x.function}`), ['alice/spin', 'carol/small']);
  const one = await w.admin('GET', `/usage/requests/${spinRequest}`);
  assert.equal(one.status, 200, one.text);
  assert.equal(one.json.function, 'spin');
  assert.equal((await w.admin('GET', '/usage?from=yesterday')).status, 400);
});

test('an exhausted budget answers 429 naming the budget and when it resets', async () => {
  for (let i = 0; i < 2; i++) assert.equal((await w.run('small', {})).status, 200);
  const r = await w.run('small', {});
  assert.equal(r.status, 429, r.text);
  assert.equal(r.json.error.code, 'budget-exceeded');
  assert.equal(r.json.error.budget, 'owner carol: per 1h');
  assert.equal(r.json.error.metric, 'invocations');
  const resets = Date.parse(r.json.error.resets_at);
  assert.ok(resets > Date.now() && resets <= Date.now() + 3600_000, r.json.error.resets_at);
  assert.match(r.json.error.message, /3 of 3 invocations used; it resets at/);
  assert.ok(Number(r.headers['retry-after']) >= 1);
  // A CPU budget of 0 refuses from the first call: the check needs no usage to exist yet.
  const cpu = await w.run('other', {});
  assert.equal(cpu.status, 429);
  assert.equal(cpu.json.error.metric, 'cpu_seconds');
  // Other owners are not affected.
  assert.equal((await w.run('spin', {})).status, 200);
});

test('Prometheus counters at /metrics', async () => {
  const text = (await w.admin('GET', '/metrics')).text;
  assert.match(text, /ol_usage_invocations_total\{owner="alice",function="spin"\} 3/);
  assert.match(text, /ol_usage_cpu_seconds_total\{owner="alice",function="spin",mode="user"\} [0-9.]+/);
  assert.match(text, /ol_budget_refusals_total\{budget="owner carol: per 1h",metric="invocations"\} 1/);
});

test('`ol usage` prints a readable table of usage and budgets', async () => {
  const cli = path.resolve(__dirname, '../../../core/cli/main.js');
  const { stdout } = await run(process.execPath, [cli, 'usage', '-p', w.dir]);
  const lines = stdout.split('\n');
  assert.match(lines[0], /^OWNER +FUNCTION +INVOCATIONS +FAILED +WALL s +CPU user s +CPU sys s +GB-s +PEAK MEM$/);
  assert.match(stdout, /\nalice +spin +3 +0 +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+ +\d+\.\d MiB\n/);
  assert.match(stdout, /\nowner carol: per 1h +invocations +3 +3 +\d{4}-/);
  const only = await run(process.execPath, [cli, 'usage', '-p', w.dir, '--owner', 'carol']);
  assert.doesNotMatch(only.stdout, /alice/);
});

test('usage and budgets survive a worker restart', async () => {
  await w.stop();
  w = await startWorker(overrides);
  const r = await w.admin('GET', '/usage?owner=alice');
  assert.equal(r.json.usage[0].invocations, 3);
  const carol = (await w.admin('GET', '/usage')).json.budgets.find((b: any) => b.budget === 'owner carol: per 1h');
  assert.equal(carol.used.invocations, 3);
  assert.equal((await w.run('small', {})).status, 429);
});

after(async () => {
  await w?.stop();
});
