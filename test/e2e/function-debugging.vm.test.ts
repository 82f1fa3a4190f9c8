// The death causes that depend on the cgroup version, on a pure cgroup v2
// kernel (run inside ../shared/tools/run-in-vm by npm test): OOM evidence from
// memory.events and memory.peak, refused forks from pids.events, a seccomp kill,
// and fd-level output capture through the v2 driver.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { startWorker, type Reply, type RunningWorker } from '../helpers/worker-fixture';

let w: RunningWorker;
before(async () => {
  // Emulated VM: everything is several times slower.
  w = await startWorker(['sock.start_timeout_ms=120000', 'limits.max.timeout_ms=300000']);
});
after(async () => w?.stop());

async function runRecorded(fn: string, event: unknown = {}): Promise<Reply & { id: string }> {
  const r = await w.run(fn, event);
  const id = String(r.headers['x-request-id']);
  let list = (await w.admin('GET', `/debug/${fn}`)).json.records as { requestId: string }[];
  while (!list.some((x) => x.requestId === id)) {
    const last = list.at(-1)?.requestId;
    await w.admin('GET', `/debug/${fn}?wait=30${last ? `&after=${last}` : ''}`);
    list = (await w.admin('GET', `/debug/${fn}`)).json.records;
  }
  return { ...r, id };
}

const part = async (fn: string, id: string, name: string) => (await w.admin('GET', `/debug/${fn}/${id}/${name}`)).text;

test('cgroup v2: the worker runs on the v2 driver', async () => {
  assert.equal((await w.run('echo', 1)).json, 1);
  assert.match((await w.admin('GET', '/metrics')).text, /ol_cgroup_op_seconds_count\{driver="v2",op="setLimits"\} \d+/);
});

test('cgroup v2: output of print, C write and a child process is captured', async () => {
  const r = await runRecorded('output');
  assert.equal(r.status, 200, r.text);
  const stdout = await part('output', r.id, 'stdout');
  assert.match(stdout, /hello from C write\(1\)/);
  assert.match(stdout, /hello from a child shell/);
});

test('cgroup v2: OOM from memory.events oom_kill, with the peak from memory.peak', async () => {
  const r = await runRecorded('memhog', { mb: 300 });
  assert.equal(r.status, 502, r.text);
  assert.equal(r.json.errorType, 'Sandbox.OutOfMemory');
  assert.match(await part('memhog', r.id, 'error'), /peak was [\d.]+ MiB of 64 MiB/);
});

test('cgroup v2: refused forks from pids.events are the evidence of the process limit', async () => {
  const r = await runRecorded('threadbomb');
  assert.equal(r.status, 500, r.text);
  assert.match(await part('threadbomb', r.id, 'error'), /the cgroup refused \d+ fork\(s\) at its limit of 16/);
});

test('cgroup v2: a blocked system call is named', async () => {
  const r = await runRecorded('mount');
  assert.equal(r.status, 502, r.text);
  assert.equal(r.json.errorType, 'Sandbox.BlockedSyscall');
  assert.match(await part('mount', r.id, 'error'), /blocked system call: mount/);
});
