// cgroup-v1.pool_size: sandboxes take cgroups made ahead of time, the pool is
// refilled in the background, and stopping the worker leaves no cgroup.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { SandboxBackendPoint } from '../../core';
import type { SockBackend } from '../../plugins/sock/backend';
import { cgroupsNamed, startWorker } from '../helpers/worker-fixture';

test('with a cgroup pool, sandboxes start in pre-created cgroups and nothing is left after stop', async () => {
  const w = await startWorker(['cgroup-v1.pool_size=2', 'scheduler-fifo.pause_idle=false']);
  const scope = w.worker.paths.scope;
  try {
    assert.equal((await w.run('echo', 1)).json, 1);
    assert.equal((await w.run('hello')).status, 200);
    const backend = w.worker.container.resolve(SandboxBackendPoint.token) as SockBackend;
    for (const s of backend.sandboxes) assert.match(s.cgroup.name, /^pool-[0-9a-f]{10}$/, 'a sandbox made its own cgroup although the pool had one');
    const m = (await w.admin('GET', '/metrics')).text;
    const made = Number(/^ol_cgroup_op_seconds_count\{driver="v1",op="precreate"\} (\d+)$/m.exec(m)?.[1]);
    assert.ok(made >= 2, `pre-created ${made} cgroups`);
  } finally {
    await w.stop();
  }
  assert.deepEqual(cgroupsNamed(scope), [], 'cgroups of the stopped worker remain');
});
