import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startWorker, type RunningWorker } from '../../../test/helpers/worker-fixture';

/**
 * A run that kills its instance (timeout, OOM) is measured too: the
 * sandbox's cgroup is read before it is removed, so the 504/502 carries
 * X-OL-Usage with CPU and peak memory, and the accounting record has them.
 */
const fnDir = mkdtempSync(path.join(os.tmpdir(), 'ol-killed-usage-'));
after(() => rmSync(fnDir, { recursive: true, force: true }));
const TIMEOUT_MS = 1500;
const MiB = 1024 * 1024;

function writeFn(name: string, olYaml: string, code: string): void {
  mkdirSync(path.join(fnDir, name), { recursive: true });
  writeFileSync(path.join(fnDir, name, 'f.py'), code);
  writeFileSync(path.join(fnDir, name, 'ol.yaml'), olYaml);
}
writeFn('spinner', `owner: dave\nlimits:\n  timeout_ms: ${TIMEOUT_MS}\n`, 'def f(event):\n    while True: pass\n');
writeFn('balloon', 'owner: dave\nlimits:\n  mem_mb: 64\n', 'def f(event):\n    chunks = []\n    while True: chunks.append(bytearray(4 * 1024 * 1024))\n');

let w: RunningWorker;

function usage(h: string | string[] | undefined): Record<string, number> {
  assert.equal(typeof h, 'string', 'X-OL-Usage is present');
  return Object.fromEntries((h as string).split('; ').map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)]));
}

/** The accounting record of a request, once the batched writer has stored it. */
async function recorded(requestId: string): Promise<any> {
  const end = Date.now() + 5000;
  for (;;) {
    const r = await w.admin('GET', `/usage/requests/${requestId}`);
    if (r.status === 200) return r.json;
    if (Date.now() > end) assert.fail(`no usage record for ${requestId}: ${r.text}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

test('start a worker with accounting-sqlite', async () => {
  w = await startWorker([`registry-dir.dirs=[${fnDir}]`, 'accounting-sqlite.flush_ms=20']);
});

test('a run killed at its timeout answers 504 with its CPU time, close to the timeout, and it is recorded', async () => {
  const r = await w.run('spinner', {});
  assert.equal(r.status, 504, r.text);
  assert.equal(r.headers['x-ol-error'], 'timeout');
  const u = usage(r.headers['x-ol-usage']);
  const cpu = u.cpu_user_ms + u.cpu_system_ms;
  // One core at 100 % (the default cpu_percent) for the whole timeout, less what other load on the host took.
  assert.ok(cpu >= TIMEOUT_MS * 0.6 && cpu <= u.wall_ms + 50, `cpu ${cpu} ms over a wall time of ${u.wall_ms} ms (timeout ${TIMEOUT_MS} ms)`);
  assert.ok(u.memory_peak_bytes > 0, `peak ${u.memory_peak_bytes}`);
  const rec = await recorded(r.headers['x-request-id'] as string);
  assert.equal(rec.outcome, 'timeout');
  assert.equal(rec.owner, 'dave');
  assert.ok(Math.abs(rec.cpu_user_ms + rec.cpu_system_ms - cpu) < 1, JSON.stringify(rec));
  const totals = (await w.admin('GET', '/usage?owner=dave&function=spinner')).json.usage[0];
  assert.equal(totals.failures, 1);
  assert.ok(totals.cpu_user_seconds + totals.cpu_system_seconds >= (TIMEOUT_MS * 0.6) / 1000, JSON.stringify(totals));
});

test('a run OOM-killed at its memory limit answers 502 with its peak memory and CPU time, and it is recorded', async () => {
  const r = await w.run('balloon', {});
  assert.equal(r.status, 502, r.text);
  assert.equal(r.headers['x-ol-error'], 'oom');
  const u = usage(r.headers['x-ol-usage']);
  assert.ok(u.memory_peak_bytes >= 56 * MiB && u.memory_peak_bytes <= 64 * MiB, `peak ${u.memory_peak_bytes}`);
  assert.ok(u.cpu_user_ms + u.cpu_system_ms > 0, String(r.headers['x-ol-usage']));
  const rec = await recorded(r.headers['x-request-id'] as string);
  assert.equal(rec.outcome, 'oom');
  assert.equal(rec.memory_peak_bytes, u.memory_peak_bytes);
});

after(async () => {
  await w?.stop();
});
