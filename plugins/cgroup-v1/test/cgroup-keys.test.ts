import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { archiveOf } from '../../registry-dir/test/fixtures';
import { startWorker, type RunningWorker } from '../../../test/helpers/worker-fixture';
import { readV1, until } from './v1-sandbox';

/**
 * cgroup keys from ol.yaml and X-OL-Cgroup on this host's cgroup v1
 * hierarchies, through a real worker: each v2 key lands in its v1 file, a
 * request's keys apply to the instance serving it and are put back after it,
 * and keys without a v1 equivalent or values outside the operator's range are
 * refused with errors naming the key and the range.
 */
const fnDir = mkdtempSync(path.join(os.tmpdir(), 'ol-knobs-v1-'));
after(() => rmSync(fnDir, { recursive: true, force: true }));

function writeFn(name: string, olYaml: string, code = 'def f(event):\n    return "ok"\n'): void {
  mkdirSync(path.join(fnDir, name), { recursive: true });
  writeFileSync(path.join(fnDir, name, 'f.py'), code);
  writeFileSync(path.join(fnDir, name, 'ol.yaml'), olYaml);
}

const SLEEPER = 'import time\ndef f(event):\n    time.sleep(event.get("s", 0))\n    return "ok"\n';
const HOG = 'def f(event):\n    b = bytearray(event["mb"] * 1024 * 1024)\n    for i in range(0, len(b), 4096): b[i] = 1\n    return len(b)\n';
writeFn('knobbed', 'cgroup:\n  memory.max: 96M\n  memory.low: 8M\n  cpu.max: "50000 100000"\n  cpu.weight: 200\n  pids.max: 32\n', SLEEPER);
writeFn('hog', 'cgroup:\n  memory.max: 96M\n', HOG);
writeFn('high', 'cgroup:\n  memory.high: 64M\n');
writeFn('oomgroup', 'cgroup:\n  memory.oom.group: 1\n');
writeFn('toobig', 'cgroup:\n  memory.max: 4G\n');
writeFn('notallowed', 'cgroup:\n  cpu.max.burst: 1000\n');

let w: RunningWorker;
const MiB = 1024 * 1024;

const v1 = (hierarchy: string, file: string) => readV1(w, hierarchy, file);

test('start a worker on cgroup v1 with the default cgroup policy', async () => {
  w = await startWorker([`registry-dir.dirs=[${fnDir}]`, 'scheduler-fifo.pause_idle=false']);
  assert.equal((await w.admin('GET', '/status')).status, 200);
});

test('ol.yaml cgroup keys land in their v1 files', async () => {
  const r = await w.run('knobbed', {});
  assert.equal(r.status, 200, r.text);
  assert.equal(v1('memory', 'memory.limit_in_bytes'), String(96 * MiB));
  assert.equal(v1('memory', 'memory.soft_limit_in_bytes'), String(8 * MiB));
  assert.equal(v1('cpu', 'cpu.cfs_quota_us'), '50000');
  assert.equal(v1('cpu', 'cpu.cfs_period_us'), '100000');
  assert.equal(v1('cpu', 'cpu.shares'), '2048'); // cpu.weight 200 = twice the default
  assert.equal(v1('pids', 'pids.max'), '32');
});

test('X-OL-Cgroup applies to the instance serving that request, and is put back after it', async () => {
  const pending = w.call('POST', '/run/knobbed', JSON.stringify({ s: 1 }), { 'X-OL-Cgroup': 'memory.max=64M, cpu.weight=50, pids.max=16, cpu.max=20000 100000' });
  // cpu.max is written last (keys in header order, memory.max first).
  await until(() => v1('cpu', 'cpu.cfs_quota_us'), '20000');
  assert.equal(v1('memory', 'memory.limit_in_bytes'), String(64 * MiB));
  assert.equal(v1('pids', 'pids.max'), '16');
  assert.equal(v1('cpu', 'cpu.shares'), '512');
  assert.equal((await pending).status, 200);
  assert.equal(v1('cpu', 'cpu.shares'), '2048');
  assert.equal(v1('memory', 'memory.limit_in_bytes'), String(96 * MiB));
  assert.equal(v1('pids', 'pids.max'), '32');
  assert.equal(v1('cpu', 'cpu.cfs_quota_us'), '50000');
});

test('query parameters work too, and a request limit really limits: memory.max=32M OOM-kills a 48 MiB run', async () => {
  assert.equal((await w.run('hog', { mb: 48 })).status, 200);
  const r = await w.call('POST', '/run/hog?cgroup.memory.max=32M', JSON.stringify({ mb: 48 }));
  assert.equal(r.status, 502, r.text);
  assert.equal(r.headers['x-ol-error'], 'oom');
  assert.equal((await w.run('hog', { mb: 48 })).status, 200);
});

test('a request outside the policy gets 400 naming the key and the allowed range', async () => {
  const big = await w.call('POST', '/run/knobbed', '{}', { 'X-OL-Cgroup': 'memory.max=2G' });
  assert.equal(big.status, 400);
  assert.equal(big.json.error.code, 'bad-cgroup-keys');
  assert.match(big.json.error.message, /cgroup memory\.max: 2G is outside the allowed range 16M\.\.1G \(bytes\)/);
  const low = await w.call('POST', '/run/knobbed', '{}', { 'X-OL-Cgroup': 'memory.low=8M' });
  assert.equal(low.status, 400);
  assert.match(low.json.error.message, /cgroup memory\.low: the operator does not let a request set it \(allowed: memory\.max, memory\.high, cpu\.max, cpu\.weight, cpu\.idle, pids\.max\)/);
  const bogus = await w.call('POST', '/run/knobbed', '{}', { 'X-OL-Cgroup': 'memory.maxx=1M' });
  assert.equal(bogus.status, 400);
  assert.match(bogus.json.error.message, /cgroup memory\.maxx: not a cgroup v2 interface file/);
  const syntax = await w.call('POST', '/run/knobbed', '{}', { 'X-OL-Cgroup': 'cpu.weight=heavy' });
  assert.match(syntax.json.error.message, /cgroup cpu\.weight: "heavy" is not an integer/);
  const noEq = await w.call('POST', '/run/knobbed', '{}', { 'X-OL-Cgroup': 'cpu.weight' });
  assert.equal(noEq.status, 400);
});

test('keys with no v1 equivalent are refused on this host, naming the reason', async () => {
  const high = await w.run('high', {});
  assert.equal(high.status, 422, high.text);
  assert.match(high.json.error.message, /cgroup memory\.high: not available on this host \(cgroup v1\): cgroup v1 has no memory throttling/);
  const oom = await w.run('oomgroup', {});
  assert.match(oom.json.error.message, /cgroup memory\.oom\.group: not available on this host \(cgroup v1\)/);
  const req = await w.call('POST', '/run/knobbed', '{}', { 'X-OL-Cgroup': 'memory.high=64M' });
  assert.equal(req.status, 400);
  assert.match(req.json.error.message, /memory\.high: not available on this host \(cgroup v1\)/);
});

test('ol.yaml outside the policy: the function does not load (422), and installing it is refused (400)', async () => {
  const big = await w.run('toobig', {});
  assert.equal(big.status, 422);
  assert.match(big.json.error.message, /cgroup memory\.max: 4G is outside the allowed range 16M\.\.1G \(bytes\)/);
  const na = await w.run('notallowed', {});
  assert.match(na.json.error.message, /cgroup cpu\.max\.burst: the operator does not let a function's ol\.yaml set it/);
  const archive = await archiveOf({ 'f.py': 'def f(event):\n    return 1\n', 'ol.yaml': 'cgroup:\n  pids.max: 100000\n' });
  const up = await w.admin('POST', '/registry/badknob', archive);
  assert.equal(up.status, 400, up.text);
  assert.match(up.json.error.message, /cgroup pids\.max: 100000 is outside the allowed range 4\.\.512 \(processes\)/);
});

after(async () => {
  await w?.stop();
});
