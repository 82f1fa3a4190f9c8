// Fault injection: a sandbox's cgroup is kept busy by a process that cannot
// die (SIGKILLed, but frozen in another v1 freezer cgroup, so the kill stays
// pending). The worker must report the anomaly (log, metrics), mark the
// cgroup leaked, keep serving, and clean it up in the background once the
// process can die. Runs on this host's cgroup v1 hierarchies.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SandboxBackendPoint, SchedulerPoint, type Scheduler } from '../../core';
import type { SockBackend } from '../../plugins/sock/backend';
import { startWorker, type RunningWorker } from '../helpers/worker-fixture';

const FREEZER = `/sys/fs/cgroup/freezer/ol-test-stuck-${process.pid}`;
let w: RunningWorker;
let stuck: ChildProcess | undefined;

before(async () => {
  w = await startWorker(['cgroup-v1.give_up_ms=300']);
});
after(async () => {
  if (fs.existsSync(FREEZER)) fs.writeFileSync(path.join(FREEZER, 'freezer.state'), 'THAWED');
  stuck?.kill('SIGKILL');
  await w?.stop();
  if (fs.existsSync(FREEZER)) fs.rmdirSync(FREEZER);
});

/** Freezer states settle asynchronously in v1 (no event file): re-read until it does. */
async function freezerState(state: 'FROZEN' | 'THAWED'): Promise<void> {
  fs.writeFileSync(path.join(FREEZER, 'freezer.state'), state);
  for (let i = 0; fs.readFileSync(path.join(FREEZER, 'freezer.state'), 'utf8').trim() !== state; i++) {
    if (i > 200) assert.fail(`the test's freezer cgroup did not reach ${state}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const metrics = async () => (await w.admin('GET', '/metrics')).text;

test('a cgroup that stays busy is reported and leaked, the worker keeps serving, and cleanup succeeds later', async () => {
  assert.equal((await w.run('echo', 1)).status, 200);
  const backend = w.worker.container.resolve(SandboxBackendPoint.token) as SockBackend;
  const sandbox = backend.sandboxes.find((s) => s.fn.name === 'echo')!;
  const memoryProcs = sandbox.cgroup.procsFiles.find((f) => f.includes('/memory/'))!;
  assert.ok(memoryProcs, `no memory hierarchy in ${sandbox.cgroup.procsFiles.join(', ')}`);

  // A process in the sandbox's memory cgroup but in a frozen freezer cgroup of our own.
  fs.mkdirSync(FREEZER);
  stuck = spawn('sleep', ['1000'], { stdio: 'ignore' });
  fs.writeFileSync(path.join(FREEZER, 'cgroup.procs'), String(stuck.pid));
  await freezerState('FROZEN');
  fs.writeFileSync(memoryProcs, String(stuck.pid));
  const stuckExited = new Promise((resolve) => stuck!.once('exit', resolve));

  const started = Date.now();
  await w.worker.container.resolve<Scheduler>(SchedulerPoint.token).retire('echo');
  assert.ok(Date.now() - started < 10_000, `retiring took ${Date.now() - started} ms: teardown must give up, not hang`);
  assert.equal(backend.leaks.size, 1, 'the busy cgroup is not marked leaked');
  const m = await metrics();
  assert.match(m, /^ol_cgroups_leaked 1$/m);
  assert.match(m, /^ol_cgroup_anomalies_total\{driver="v1",op="teardown",anomaly="leaked"\} 1$/m);
  assert.match(m, /^ol_cgroup_anomalies_total\{driver="v1",op="killAll",anomaly="failed"\} \d+$/m);
  assert.match(m, /^ol_cgroup_op_seconds_count\{driver="v1",op="destroy"\} \d+$/m);

  // The worker keeps serving, the same function included (in a new sandbox).
  assert.equal((await w.run('echo', 2)).json, 2);
  assert.equal((await w.run('hello')).status, 200);

  // Once the process can act on its pending SIGKILL, the background retry removes the cgroup.
  await freezerState('THAWED');
  await stuckExited;
  await Promise.race([
    backend.leaks.cleaned(sandbox.cgroup.name),
    new Promise((_, reject) => setTimeout(() => reject(new Error('the leaked cgroup was not cleaned up within 20 s')), 20_000).unref()),
  ]);
  assert.equal(backend.leaks.size, 0);
  assert.ok(!fs.existsSync(path.dirname(memoryProcs)), `${path.dirname(memoryProcs)} still exists`);
  assert.match(await metrics(), /^ol_cgroups_leaked 0$/m);
});
