// Resource-exhaustion attacks: a fork bomb and a memory bomb, real functions
// in a real worker. Each is stopped by its cgroup and the worker keeps serving.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { attackWorker, type AttackWorker } from './attack-kit';

let a: AttackWorker;

before(async () => {
  a = await attackWorker({
    'fork-bomb': `
try:
    while True:
        if os.fork() == 0:
            while True:  # every child forks on, forever
                try:
                    os.fork()
                except OSError:
                    time.sleep(0.01)
except OSError as e:
    return {'stopped_by': errno.errorcode.get(e.errno)}`,
    'memory-bomb': `
hog = []
while True:
    hog.append(bytearray(16 << 20))`,
    'shm-bomb': `
with open('/dev/shm/fill', 'wb') as fh:
    while True:
        fh.write(b'x' * (16 << 20))`,
    'thread-bomb': `
import threading
ts = []
while True:
    t = threading.Thread(target=time.sleep, args=(30,)); t.start(); ts.append(t)`,
  }, [], {
    'fork-bomb': 'limits:\n  procs: 32\n  timeout_ms: 10000\n',
    'memory-bomb': 'limits:\n  mem_mb: 64\n',
    'shm-bomb': 'limits:\n  mem_mb: 64\n',
    'thread-bomb': 'limits:\n  procs: 32\n  timeout_ms: 10000\n',
  });
});
after(async () => a?.stop());

async function stillServes(): Promise<void> {
  const r = await a.w.run('echo', { alive: true });
  assert.equal(r.status, 200, r.text);
}

test('fork bomb: stopped at the process limit (pids.max), the instance is retired, the worker keeps serving', async () => {
  const r = await a.w.run('fork-bomb', {});
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.stopped_by, 'EAGAIN');
  // The instance full of forking children was destroyed: the next call gets a fresh one, stopped the same way.
  assert.equal((await a.w.run('fork-bomb', {})).json.stopped_by, 'EAGAIN');
  await stillServes();
});

test('thread bomb: the same limit counts threads', async () => {
  const r = await a.w.run('thread-bomb', {});
  assert.notEqual(r.status, 200);
  assert.match(r.text, /process limit of 32/);
  await stillServes();
});

test('memory bomb: OOM-killed at the memory limit, reported as such', async () => {
  const r = await a.w.run('memory-bomb', {});
  assert.equal(r.status, 502, r.text);
  assert.equal(r.json.errorKind, 'oom');
  await stillServes();
});

test('memory bomb through /dev/shm (tmpfs pages): charged to the same memory limit', async () => {
  const r = await a.w.run('shm-bomb', {});
  assert.notEqual(r.status, 200, r.text);
  assert.match(r.text, /memory limit of 64 MiB|ENOMEM|Cannot allocate memory|No space left/);
  await stillServes();
});
