import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { workerPaths } from '../../core/lifecycle/worker-paths';
import { isAlive } from '../../core/lifecycle/pid-file';
import { cgroupsNamed, EXAMPLES, mountsUnder, REPO } from '../helpers/worker-fixture';

const run = promisify(execFile);
const OL = path.join(REPO, 'dist/core/cli/main.js');
const base = fs.mkdtempSync(path.join(os.tmpdir(), 'olcli-'));
const dir = path.join(base, 'w');
const paths = workerPaths(dir);
after(async () => {
  await ol('worker', 'down', '-p', dir).catch(() => {});
  fs.rmSync(base, { recursive: true, force: true });
});

function ol(...args: string[]) {
  return run(process.execPath, [OL, ...args], { cwd: REPO, timeout: 60000 });
}

function isRunning(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0] !== 'Z';
  } catch {
    return false;
  }
}

const up = () => ol('worker', 'up', '-d', '-p', dir, '-o', 'http.port=0', '-o', `registry-dir.dirs=[${EXAMPLES}]`);

/** Processes whose cgroup (any hierarchy) is inside this worker's subtree. */
function processesInScope(): number[] {
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(paths.scope);
      } catch {
        return false;
      }
    })
    .map(Number);
}

test('up -d, install, invoke, status, down: and nothing is left behind', async () => {
  const started = await up();
  assert.match(started.stdout, /worker running in .* \(pid \d+\)/);
  assert.match((await ol('worker', 'status', '-p', dir)).stdout, /"status":"ok"/);
  assert.equal((await ol('invoke', '-p', dir, 'echo', '{"a":1}')).stdout.trim(), '{"a":1}');

  const fn = path.join(base, 'adder');
  fs.mkdirSync(fn);
  fs.writeFileSync(path.join(fn, 'f.py'), 'def f(event):\n    return event["x"] + 1\n');
  assert.match((await ol('admin', 'install', '-p', dir, fn)).stdout, /"name":"adder"/);
  assert.equal((await ol('invoke', '-p', dir, 'adder', '{"x":41}')).stdout.trim(), '42');

  // New code retires the old instances.
  fs.writeFileSync(path.join(fn, 'f.py'), 'def f(event):\n    return event["x"] + 2\n');
  await ol('admin', 'install', '-p', dir, fn);
  assert.equal((await ol('invoke', '-p', dir, 'adder', '{"x":40}')).stdout.trim(), '42');
  await assert.rejects(ol('invoke', '-p', dir, 'raise', '{}'), /ValueError/);

  assert.ok(processesInScope().length > 0, 'warm instances live in the worker subtree while it runs');
  const pid = Number(fs.readFileSync(paths.pidFile, 'utf8'));
  await ol('worker', 'down', '-p', dir);
  assert.equal(isAlive(pid), false, 'the worker process is gone');
  assert.deepEqual(processesInScope(), [], 'no sandbox processes remain');
  assert.deepEqual(cgroupsNamed(paths.scope), [], 'no cgroups remain');
  assert.deepEqual(mountsUnder(paths.root), [], 'no mounts remain');
  assert.deepEqual(fs.readdirSync(paths.sandboxes), [], 'no sandbox dirs remain');
  assert.equal(fs.existsSync(paths.adminSocket), false);
});

test('up after a crash cleans what the dead worker left', async () => {
  await up();
  await ol('invoke', '-p', dir, 'echo', '1');
  const pid = Number(fs.readFileSync(paths.pidFile, 'utf8'));
  const orphans = processesInScope().filter((p) => p !== pid);
  assert.ok(orphans.length > 0);
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 200 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(fs.readdirSync(paths.sandboxes).length > 0, 'the crash left sandbox dirs');

  await up();
  // A killed orphan may linger as a zombie until the host's init reaps it: it no longer runs.
  for (const p of orphans) assert.equal(isRunning(p), false, `leftover sandbox process ${p} was killed`);
  assert.deepEqual(fs.readdirSync(paths.sandboxes), []);
  assert.equal((await ol('invoke', '-p', dir, 'echo', '2')).stdout.trim(), '2');
  await ol('worker', 'down', '-p', dir);
  assert.deepEqual(cgroupsNamed(paths.scope), []);
});

test('a bad config key stops up with a message naming it', async () => {
  await assert.rejects(ol('worker', 'up', '-p', path.join(base, 'bad'), '-o', 'limits.defaults.mem_mbs=5'), /limits\.defaults\.mem_mbs: unknown key/);
  await assert.rejects(ol('worker', 'up', '-p', path.join(base, 'bad'), '-o', 'plugins=[sock, nope]'), /plugin "nope": unknown plugin/);
});
