// "Why did my function die": per-invocation output capture, the recorded
// cause of each kind of death, /debug on the admin socket, `ol logs`, and
// /metrics, against a real worker running the examples/ functions.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { REPO, startWorker, type Reply, type RunningWorker } from '../helpers/worker-fixture';

const OL = path.join(REPO, 'dist/core/cli/main.js');
const exec = promisify(execFile);

let w: RunningWorker;
before(async () => {
  // A small output bound, to see truncation without writing megabytes.
  w = await startWorker(['sock.output_max_bytes=4096']);
});
after(async () => w?.stop());

/** Run a function and wait until its record is stored (records are written after the answer). */
async function runRecorded(fn: string, event: unknown = {}, headers: Record<string, string> = {}): Promise<Reply & { id: string }> {
  const r = await w.call('POST', `/run/${fn}`, JSON.stringify(event), headers);
  const id = String(r.headers['x-request-id']);
  let list = (await w.admin('GET', `/debug/${fn}`)).json.records as { requestId: string }[];
  while (!list.some((x) => x.requestId === id)) {
    const last = list.at(-1)?.requestId;
    list = (await w.admin('GET', `/debug/${fn}?wait=10${last ? `&after=${last}` : ''}`)).json.records;
    if (!list.length) assert.fail(`no record of request ${id} of ${fn} appeared within 10 s`);
    list = (await w.admin('GET', `/debug/${fn}`)).json.records;
  }
  return { ...r, id };
}

const part = async (fn: string, id: string, name: string) => (await w.admin('GET', `/debug/${fn}/${id}/${name}`)).text;

test('stdout and stderr are captured per invocation at the fd level: print, C write(1), child processes', async () => {
  const r = await runRecorded('output', {}, { 'X-OL-Log-Type': 'Tail' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { ok: true });
  const stdout = await part('output', r.id, 'stdout');
  assert.match(stdout, /^hello from print$/m);
  assert.match(stdout, /^hello from C write\(1\)$/m);
  assert.match(stdout, /^hello from a child shell$/m);
  const stderr = await part('output', r.id, 'stderr');
  assert.match(stderr, /^warning from print$/m);
  assert.match(stderr, /^child stderr$/m);
  assert.doesNotMatch(stdout, /warning|child stderr/, 'stderr leaked into stdout');
  // LogType: Tail: the end of the output, base64, in the answer itself.
  const tail = Buffer.from(String(r.headers['x-ol-log-result']), 'base64').toString('utf8');
  assert.match(tail, /hello from C write\(1\)/);
  assert.match(tail, /child stderr/);
  // The next invocation's record holds only its own output.
  const again = await runRecorded('output', { bytes: 10 });
  assert.equal((await part('output', again.id, 'stdout')).match(/hello from print/g)?.length, 1);
  assert.equal(r.headers['x-ol-log-result'] !== undefined && again.headers['x-ol-log-result'], undefined, 'the tail is sent only when asked for');
});

test('output past sock.output_max_bytes keeps its start and end around a marker', async () => {
  const r = await runRecorded('output', { bytes: 200_000 });
  assert.equal(r.status, 200, r.text);
  const stdout = await part('output', r.id, 'stdout');
  assert.ok(stdout.length < 5000, `kept ${stdout.length} bytes of stdout with a 4096-byte bound`);
  assert.match(stdout, /^hello from print/);
  assert.match(stdout, /\[\.\.\. \d+ bytes cut by OL Kernel: each stream keeps at most 4096 bytes per invocation \(sock\.output_max_bytes\) \.\.\.\]/);
  assert.match(stdout, /x{1000}$/);
  const rec = (await w.admin('GET', `/debug/output/${r.id}`)).json;
  assert.equal(rec.output.truncated, true);
  assert.ok(rec.output.stdoutBytes > 200_000, `stdoutBytes ${rec.output.stdoutBytes}`);
});

test('an exception: errorType, errorMessage, requestId, a function-error header, and the traceback in /error', async () => {
  const r = await runRecorded('raise', { x: 1 });
  assert.equal(r.status, 500);
  assert.equal(r.headers['x-ol-function-error'], 'ValueError');
  assert.equal(r.json.errorType, 'ValueError');
  assert.match(r.json.errorMessage, /bad input/);
  assert.equal(r.json.requestId, r.id);
  assert.equal(r.json.error.code, 'exception'); // the first API's shape stays
  const error = await part('raise', r.id, 'error');
  assert.match(error, /failed: ValueError \(exception\)/);
  assert.match(error, /Traceback[\s\S]*f\.py", line \d+, in f/);
});

test('out of memory: recorded with the OOM counter as evidence and the peak against the limit', async () => {
  const r = await runRecorded('memhog', { mb: 300 });
  assert.equal(r.status, 502);
  assert.equal(r.json.errorType, 'Sandbox.OutOfMemory');
  const error = await part('memhog', r.id, 'error');
  assert.match(error, /OOM-kill counter .* went from \d+ to \d+/);
  assert.match(error, /what to do: raise limits\.mem_mb in ol\.yaml \(peak was [\d.]+ MiB of 64 MiB\)/);
  const usage = (await w.admin('GET', `/debug/memhog/${r.id}/usage`)).json;
  assert.equal(usage.outcome, 'oom');
  assert.equal(usage.memoryLimitBytes, 64 * 1024 * 1024);
  assert.ok(usage.memoryPeakBytes > 50 * 1024 * 1024, `peak ${usage.memoryPeakBytes}`);
});

test('a timeout: recorded, with the output written before the kill', async () => {
  const r = await runRecorded('sleepy', { seconds: 30 });
  assert.equal(r.status, 504);
  assert.equal(r.json.errorType, 'Sandbox.Timeout');
  assert.match(await part('sleepy', r.id, 'error'), /wall-clock limit of 1000 ms \(limits\.timeout_ms\)/);
});

test('killed by a signal: a segfault in native code is SIGSEGV, and its output survives the crash', async () => {
  const r = await runRecorded('segfault');
  assert.equal(r.status, 502);
  assert.equal(r.json.errorType, 'Sandbox.Signal');
  assert.equal(r.json.errorKind, 'signal');
  const error = await part('segfault', r.id, 'error');
  assert.match(error, /signal SIGSEGV .*segmentation fault/);
  assert.match(await part('segfault', r.id, 'stdout'), /about to read a forbidden address/);
});

test('the process exits: os._exit(3) is recorded with its exit code and output', async () => {
  const r = await runRecorded('hardexit');
  assert.equal(r.status, 502);
  assert.equal(r.json.errorType, 'Runtime.ExitError');
  assert.match(await part('hardexit', r.id, 'error'), /exited with code 3/);
  assert.match(await part('hardexit', r.id, 'stdout'), /exiting with code 3/);
});

test('an import error at load time: ModuleNotFoundError with the traceback', async () => {
  const r = await runRecorded('importerror');
  assert.equal(r.status, 500);
  assert.equal(r.json.errorType, 'ModuleNotFoundError');
  assert.equal(r.json.errorKind, 'load');
  const error = await part('importerror', r.id, 'error');
  assert.match(error, /No module named 'no_such_module_anywhere'/);
  assert.match(error, /f\.py", line \d+/);
});

test('too many processes: the exception names the process limit, with the refused forks as evidence', async () => {
  const r = await runRecorded('threadbomb');
  assert.equal(r.status, 500, r.text);
  assert.match(r.json.errorMessage, /process limit of 16/);
  const error = await part('threadbomb', r.id, 'error');
  assert.match(error, /the cgroup refused \d+ fork\(s\) at its limit of 16/);
});

test('a blocked system call: SIGSYS, named from the kernel\'s seccomp audit record', async () => {
  const r = await runRecorded('mount');
  assert.equal(r.status, 502, r.text);
  assert.equal(r.json.errorType, 'Sandbox.BlockedSyscall');
  assert.equal(r.json.errorKind, 'blocked-syscall');
  assert.match(r.json.errorMessage, /tried to call `mount`, a blocked system call/);
  const error = await part('mount', r.id, 'error');
  assert.match(error, /kernel audit record: type=1326 .*sig=31 .*syscall=165/);
  assert.match(await part('mount', r.id, 'stdout'), /calling mount\(2\)/);
});

test('a refused system call in errno mode: the exception carries the errno and what it means', async () => {
  const r = await runRecorded('setuid');
  assert.equal(r.status, 500, r.text);
  assert.equal(r.json.errorType, 'PermissionError');
  assert.match(r.json.advice, /not allowed in a sandbox/);
  assert.match(await part('setuid', r.id, 'error'), /failed with EPERM \(operation not permitted\)/);
});

test('a full disk: the write fails with ENOSPC and the error says which space ran out', async () => {
  const r = await runRecorded('diskfull');
  assert.equal(r.status, 500, r.text);
  assert.equal(r.json.errorType, 'OSError');
  assert.match(await part('diskfull', r.id, 'error'), /failed with ENOSPC: the filesystem the function writes to .* is full/);
});

test('/debug answers 404 with a reason for unknown records, and errors of successful calls', async () => {
  const ok = await runRecorded('echo', 1);
  const none = await w.admin('GET', `/debug/echo/${ok.id}/error`);
  assert.equal(none.status, 404);
  assert.match(none.json.error.message, /succeeded: it has no error/);
  const missing = await w.admin('GET', '/debug/echo/0000000000000000/stdout');
  assert.equal(missing.status, 404);
  assert.match(missing.json.error.message, /keep_per_function/);
  const usage = (await w.admin('GET', `/debug/echo/${ok.id}/usage`)).json;
  assert.equal(usage.outcome, 'ok');
  assert.ok(usage.runMs >= 0 && usage.durationMs >= usage.runMs, JSON.stringify(usage));
  // Never on the public listener.
  assert.equal((await w.call('GET', `/debug/echo/${ok.id}/stdout`)).status, 404);
});

test('ol logs prints an invocation, and --follow prints new ones as they finish', async () => {
  const r = await runRecorded('raise', { who: 'cli' });
  const one = await exec(process.execPath, [OL, 'logs', 'raise', r.id, '-p', w.dir]);
  assert.match(one.stdout, new RegExp(`request ${r.id}: exception`));
  assert.match(one.stdout, /--- error\n.*ValueError/);

  const child = spawn(process.execPath, [OL, 'logs', 'output', '-n', '0', '--follow', '-p', w.dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let seen = '';
  const following = new Promise<void>((resolve) => child.stderr.on('data', (d) => /following output/.test(String(d)) && resolve()));
  const printed = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      seen += d;
      if (/hello from a child shell/.test(seen)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`ol logs --follow exited (${code}): ${seen}`)));
  });
  try {
    await following; // it has listed the existing records: what runs now is new
    const fresh = await runRecorded('output');
    await printed;
    assert.match(seen, new RegExp(`request ${fresh.id}: ok`));
  } finally {
    child.kill();
  }
});

test('/metrics on the admin socket: invocations by outcome, latency by phase, cold starts, instances', async () => {
  const m = await w.admin('GET', '/metrics');
  assert.equal(m.status, 200);
  assert.match(m.text, /^ol_invocations_total\{function="output",outcome="ok"\} \d+/m);
  assert.match(m.text, /^ol_invocations_total\{function="memhog",outcome="oom"\} 1/m);
  assert.match(m.text, /^ol_invocation_seconds_bucket\{le="[\d.+Inf]+",function="echo",phase="run"\} \d+/m);
  assert.match(m.text, /^ol_sandbox_start_seconds_count\{function="echo"\} \d+/m);
  assert.match(m.text, /^ol_instances\{state="(running|paused)"\} \d+/m);
  assert.match(m.text, /^ol_cgroup_op_seconds/m);
  assert.match(m.text, /^ol_worker_process_cpu_seconds_total \d/m, 'the Node process metrics');
  assert.match(m.text, /^ol_worker_nodejs_eventloop_lag_p99_seconds \d/m);
  assert.equal((await w.call('GET', '/metrics')).status, 404, '/metrics must not be public');
});
