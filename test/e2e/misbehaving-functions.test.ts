import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { startWorker, type RunningWorker } from '../helpers/worker-fixture';

let w: RunningWorker;
before(async () => {
  w = await startWorker();
});
after(async () => w?.stop());

test('a memory hog is OOM-killed by the kernel and the worker keeps serving', async () => {
  const r = await w.run('memhog', { mb: 300 });
  assert.equal(r.status, 502, r.text);
  assert.equal(r.json.error.code, 'oom');
  assert.match(r.json.error.message, /memory limit of 64 MiB/);
  const again = await w.run('memhog', { mb: 8 });
  assert.equal(again.status, 200, again.text);
  assert.equal((await w.run('echo', 'still here')).json, 'still here');
});

test('a function past its timeout is reported as a timeout', async () => {
  const started = Date.now();
  const r = await w.run('sleepy', { seconds: 30 });
  assert.equal(r.status, 504, r.text);
  assert.equal(r.json.error.code, 'timeout');
  assert.match(r.json.error.message, /1000 ms/);
  assert.ok(Date.now() - started < 20000, 'the timeout must cut the 30 s sleep short');
  assert.equal((await w.run('sleepy', { seconds: 0 })).json, 'woke up');
});

test('a fork bomb stops at the process limit and the worker keeps serving', async () => {
  const r = await w.run('forkbomb', {});
  assert.equal(r.status, 200, r.text);
  assert.ok(r.json.children > 0 && r.json.children < 32, `forked ${r.json.children} children with procs: 32`);
  assert.match(r.json.stopped_by, /Resource temporarily unavailable/);
  assert.equal((await w.run('echo', 1)).json, 1);
});
