// cgroup keys and per-invocation usage on a pure cgroup v2 kernel (run inside
// ../shared/tools/run-in-vm by npm test), through a real worker: ol.yaml keys
// are written to the sandbox's own v2 files, X-OL-Cgroup overrides them for
// one request and they are put back, and X-OL-Usage reports what the run used.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { until } from '../../../test/helpers/until';

/** The VM is slow: a minute, polled every 20 ms. */
const untilVm = (read: () => string, want: string) => until(read, want, 60000, 20);
import { startWorker, type RunningWorker } from '../../../test/helpers/worker-fixture';

const ROOT = '/sys/fs/cgroup';
const MiB = 1024 * 1024;
const fnDir = mkdtempSync(path.join(os.tmpdir(), 'ol-knobs-v2-'));

function writeFn(name: string, olYaml: string, code: string): void {
  mkdirSync(path.join(fnDir, name), { recursive: true });
  writeFileSync(path.join(fnDir, name, 'f.py'), code);
  writeFileSync(path.join(fnDir, name, 'ol.yaml'), olYaml);
}
// Sleeps on request, burns ~50 ms of CPU and touches 24 MiB, so every usage figure has something to show.
writeFn(
  'knobbed',
  'cgroup:\n  memory.high: 96M\n  memory.low: 4M\n  memory.oom.group: 1\n  cpu.weight: 300\n  cpu.max: "80000 100000"\n  cpuset.cpus: "0"\n  pids.max: 40\n',
  'import time\ndef f(event):\n    time.sleep(event.get("s", 0))\n    b = bytearray(24 * 1024 * 1024)\n    for i in range(0, len(b), 4096): b[i] = 1\n    t = time.process_time()\n    while time.process_time() - t < 0.05: pass\n    return "ok"\n',
);
writeFn('spinner', 'limits:\n  timeout_ms: 3000\n', 'def f(event):\n    while True: pass\n');

let w: RunningWorker;
before(async () => {
  // Emulated VM: everything is several times slower.
  w = await startWorker([`registry-dir.dirs=[${fnDir}]`, 'sock.start_timeout_ms=120000', 'scheduler-fifo.pause_idle=false']);
});
after(async () => {
  await w?.stop();
  rmSync(fnDir, { recursive: true, force: true });
});

/** The worker's one sandbox cgroup: <scope>/<sandbox>, under the root or the worker's own cgroup. */
function sandboxDir(): string {
  const scope = w.worker.paths.scope;
  const own = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'))!.slice(3);
  const candidates = [path.join(ROOT, scope), path.join(ROOT, path.dirname(own), scope), path.join(ROOT, own, scope)];
  const scopeDir = candidates.find((d) => existsSync(d));
  assert.ok(scopeDir, `no ${scope} among ${candidates}`);
  const dirs = readdirSync(scopeDir, { withFileTypes: true }).filter((e) => e.isDirectory());
  assert.equal(dirs.length, 1, `one sandbox in ${scopeDir}`);
  return path.join(scopeDir, dirs[0].name);
}
const v2 = (file: string) => readFileSync(path.join(sandboxDir(), file), 'utf8').trim();


test('cgroup v2: ol.yaml cgroup keys are written to the sandbox cgroup', async () => {
  const r = await w.run('knobbed', {});
  assert.equal(r.status, 200, r.text);
  assert.equal(v2('memory.high'), String(96 * MiB));
  assert.equal(v2('memory.low'), String(4 * MiB));
  assert.equal(v2('memory.oom.group'), '1');
  assert.equal(v2('cpu.weight'), '300');
  assert.equal(v2('cpu.max'), '80000 100000');
  assert.equal(v2('cpuset.cpus'), '0');
  assert.equal(v2('pids.max'), '40');
});

test('cgroup v2: X-OL-Cgroup overrides keys for one request, then they are put back', async () => {
  const pending = w.call('POST', '/run/knobbed', JSON.stringify({ s: 3 }), { 'X-OL-Cgroup': 'memory.high=64M,cpu.weight=50,pids.max=20' });
  await untilVm(() => v2('pids.max'), '20');
  assert.equal(v2('memory.high'), String(64 * MiB));
  assert.equal(v2('cpu.weight'), '50');
  assert.equal((await pending).status, 200);
  assert.equal(v2('memory.high'), String(96 * MiB));
  assert.equal(v2('cpu.weight'), '300');
  assert.equal(v2('pids.max'), '40');
});

test('cgroup v2: X-OL-Usage has CPU user/system, the memory peak and throttling from the cgroup', async () => {
  const r = await w.run('knobbed', {});
  const u = Object.fromEntries(String(r.headers['x-ol-usage']).split('; ').map((kv) => kv.split('=')));
  assert.ok(Number(u.cpu_user_ms) + Number(u.cpu_system_ms) >= 40, JSON.stringify(u));
  assert.ok(Number(u.memory_peak_bytes) >= 24 * MiB, JSON.stringify(u));
  assert.ok('cpu_throttled_ms' in u, JSON.stringify(u));
  // Linux 6.12+ resets memory.peak per invocation; older kernels give the instance's peak.
  const [major, minor] = os.release().split('.').map(Number);
  assert.equal(u.memory_peak_scope, major > 6 || (major === 6 && minor >= 12) ? 'invocation' : 'instance');
});

test('cgroup v2: a run killed at its timeout still reports its CPU time and peak (read before its cgroup is removed)', async () => {
  const r = await w.run('spinner', {});
  assert.equal(r.status, 504, r.text);
  const u = Object.fromEntries(String(r.headers['x-ol-usage']).split('; ').map((kv) => kv.split('=')));
  assert.ok(Number(u.cpu_user_ms) + Number(u.cpu_system_ms) >= 1500, JSON.stringify(u));
  assert.ok(Number(u.memory_peak_bytes) > 0, JSON.stringify(u));
});

test('cgroup v2: keys v1 lacks are accepted here, and out-of-range values are a 400 naming the range', async () => {
  const bad = await w.call('POST', '/run/knobbed', '{}', { 'X-OL-Cgroup': 'cpu.weight=20000,memory.high=2G' });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.message, /cgroup cpu\.weight: 20000 is outside what the kernel accepts \(1\.\.10000\)/);
  assert.match(bad.json.error.message, /cgroup memory\.high: 2G is outside the allowed range 16M\.\.1G \(bytes\)/);
  // memory.high has no v1 equivalent; here a request may set it.
  assert.equal((await w.call('POST', '/run/knobbed', '{}', { 'X-OL-Cgroup': 'memory.high=128M' })).status, 200);
});
