// The eviction plugin's idle policies against a real worker: real SOCK
// sandboxes, the real cgroup freezer, the real FunctionLoader.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { startWorker, type RunningWorker } from '../../../test/helpers/worker-fixture';

/** Poll the admin API (policies act on a timer, not on an event we can wait for) until `ok`, within `ms`. */
async function until(w: RunningWorker, path: string, ok: (body: any) => boolean, ms = 10_000): Promise<any> {
  const end = Date.now() + ms;
  for (let delay = 20; ; delay = Math.min(delay * 2, 200)) {
    const body = (await w.admin('GET', path)).json;
    if (ok(body)) return body;
    if (Date.now() > end) assert.fail(`${path} never satisfied the condition; last: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

test('an idle instance is paused after pause_after_ms, destroyed after destroy_after_ms, and the function forgotten after forget_after_ms', { timeout: 60_000 }, async () => {
  const w = await startWorker([
    'scheduler-fifo.pause_idle=false',
    'eviction.pause_after_ms=300',
    'eviction.destroy_after_ms=1500',
    'eviction.forget_after_ms=2500',
    'eviction.sweep_ms=50',
  ]);
  try {
    const t0 = performance.now();
    const r = await w.run('echo', { a: 1 });
    assert.equal(r.status, 200);
    let s = (await w.admin('GET', '/stats')).json;
    assert.equal(s.scheduler.instances.idle, 1);
    assert.equal(s.scheduler.paused, 0, 'not paused at once: pause_idle is off');
    assert.equal(s.functions.cached, 1);

    s = await until(w, '/stats', (b) => b.scheduler.paused === 1);
    assert.ok(performance.now() - t0 >= 300, 'paused no earlier than pause_after_ms');
    // A paused instance still serves (thawed first), and that resets its idle time.
    assert.equal((await w.run('echo', { b: 2 })).text, '{"b":2}');

    s = await until(w, '/stats', (b) => b.scheduler.instances.idle === 0 && b.scheduler.instances.stopping === 0);
    assert.deepEqual(s.scheduler.evictions, { idle: 1 });
    assert.equal(s.functions.cached, 1, 'the function is still remembered: forget_after_ms has not passed');

    const scraped = (await w.admin('GET', '/metrics')).text;
    assert.match(scraped, /function="echo"/);
    assert.match(scraped, /^ol_instance_evictions\{reason="idle"\} 1$/m, 'evictions are exported to Prometheus');
    s = await until(w, '/stats', (b) => b.functions.cached === 0);
    const ev = await until(w, '/stats/eviction', (b) => b.sweeper.running === false);
    assert.equal(ev.sweeper.forgotten, 1);
    assert.equal(ev.sweeper.destroyed, 1);
    assert.ok(ev.sweeper.paused >= 1);
    assert.equal(s.scheduler.functions, 0);
    assert.doesNotMatch((await w.admin('GET', '/metrics')).text, /function="echo"/, "the function's metric series went with it");

    // Used again: loaded afresh, and the sweeper is armed again.
    assert.equal((await w.run('echo', { c: 3 })).text, '{"c":3}');
    assert.equal((await w.admin('GET', '/stats/eviction')).json.sweeper.running, true);
  } finally {
    await w.stop();
  }
});

test('with destroy_after_ms 0 idle instances stay until pressure evicts them', { timeout: 60_000 }, async () => {
  const w = await startWorker(['eviction.destroy_after_ms=0', 'eviction.forget_after_ms=0', 'eviction.sweep_ms=20', 'scheduler-fifo.mem_pool_mb=256']);
  try {
    for (const fn of ['echo', 'hello']) assert.equal((await w.run(fn, {})).status, 200);
    await new Promise((r) => setTimeout(r, 300));
    let s = (await w.admin('GET', '/stats')).json;
    assert.equal(s.scheduler.instances.idle, 2);
    assert.deepEqual(s.scheduler.memoryPool, { usedMb: 256, limitMb: 256 });
    // The pool (2 x 128 MiB) is full: the least recently used idle instance (echo) makes room.
    assert.equal((await w.run('inspect', {})).status, 200);
    s = (await w.admin('GET', '/stats')).json;
    assert.deepEqual(s.scheduler.evictions, { mem_pool: 1 });
  } finally {
    await w.stop();
  }
});
