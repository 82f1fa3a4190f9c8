// The zygote suitability check against real packages imported in real sandboxes.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as cp from 'node:child_process';
import { promisify } from 'node:util';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO, startWorker, type RunningWorker } from '../../../test/helpers/worker-fixture';
import { BASE_PLUGINS, ZYGOTE_PACKAGES, zygoteTestConfig } from '../../../test/helpers/zygote-config';
import { judge, snapshot } from '../process-probe';

const T = { timeout: 120_000 };

let w: RunningWorker;
before(async () => {
  const config = zygoteTestConfig([...BASE_PLUGINS, 'zygote-suitability'], { 'zygote-suitability': { package_dirs: [ZYGOTE_PACKAGES] } });
  w = await startWorker([], config);
});
after(async () => w?.stop());

async function verdict(spec: string): Promise<any> {
  const res = await w.admin('GET', `/zygote/suitability/${encodeURIComponent(spec)}`);
  assert.equal(res.status, 200, res.text);
  return res.json;
}

const kinds = (v: any) => v.reasons.filter((r: any) => r.unsafe).map((r: any) => r.kind);

test('a clean package is suitable, with no unsafe reason', T, async () => {
  const v = await verdict('cleanpkg');
  assert.equal(v.package, 'cleanpkg');
  assert.equal(v.version, '1.0');
  assert.deepEqual(v.modules, ['cleanpkg']);
  assert.equal(v.suitable, true, JSON.stringify(v.reasons));
  assert.deepEqual(kinds(v), []);
});

test('a package that starts a thread is unsuitable: threads', T, async () => {
  const v = await verdict('threader==1.0');
  assert.equal(v.suitable, false);
  assert.deepEqual(kinds(v), ['threads']);
  assert.match(v.reasons[0].detail, /^2 threads/);
});

test('a package that opens a file for writing is unsuitable: writable-file', T, async () => {
  const v = await verdict('filewriter');
  assert.equal(v.suitable, false);
  assert.deepEqual(kinds(v), ['writable-file'], JSON.stringify(v.reasons));
  assert.match(v.reasons[0].detail, /\/tmp\/filewriter\.log.*open for writing/);
});

test('a package that keeps a directory open is unsuitable: directory', T, async () => {
  const v = await verdict('diropener');
  assert.equal(v.suitable, false);
  assert.deepEqual(kinds(v), ['directory'], JSON.stringify(v.reasons));
  assert.match(v.reasons[0].detail, /open directory.*walk out of its root/);
});

test('verdicts are cached on disk and survive the worker', T, async () => {
  const file = path.join(w.dir, 'zygote-suitability', 'threader==1.0.json');
  assert.ok(fs.existsSync(file), 'the verdict file exists');
  const before = fs.statSync(file).mtimeMs;
  await verdict('threader');
  assert.equal(fs.statSync(file).mtimeMs, before, 'served from the cache, not probed again');
});

test('an unknown package or version is a 404 that says what to do', T, async () => {
  const res = await w.admin('GET', '/zygote/suitability/nosuchpkg==9');
  assert.equal(res.status, 404);
  assert.match(res.json.error.message, /nosuchpkg==9 is not installed.*package_dirs/);
});

test('`ol zygote check` prints each verdict with its reasons (exit 2 when unsuitable)', T, async () => {
  const cli = path.join(REPO, 'dist/core/cli/main.js');
  // The worker runs in this process: the CLI must not block its event loop (no spawnSync).
  const ol = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await promisify(cp.execFile)(process.execPath, [cli, ...args, '-p', w.dir], { encoding: 'utf8' });
      return { status: 0, stdout, stderr };
    } catch (e: any) {
      return { status: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string };
    }
  };
  const ok = await ol('zygote', 'check', 'cleanpkg==1.0');
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^cleanpkg==1\.0: suitable for zygotes/);
  const bad = await ol('zygote', 'check', 'diropener');
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stdout, /^diropener==1\.0: NOT suitable/);
  assert.match(bad.stdout, /unsafe {2}directory: fd \d+ \(\/\) is an open directory/);
  const json = await ol('zygote', 'check', 'threader', '--json');
  assert.equal(JSON.parse(json.stdout).reasons[0].kind, 'threads');
});

test('the probes read a live process from outside: threads, fds with their flags, child processes', T, async () => {
  const script = 'import os,threading,time,subprocess\nd=os.open("/",os.O_RDONLY|os.O_DIRECTORY)\nw=open("/tmp/zs-probe-test","w")\nr,wp=os.pipe()\nthreading.Thread(target=time.sleep,args=(30,),daemon=True).start()\np=subprocess.Popen(["/bin/sleep","30"])\nprint("ready",flush=True)\ntime.sleep(30)';
  const child = cp.spawn('/usr/bin/python3', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise((resolve) => child.stdout!.once('data', resolve));
    const reasons = judge(snapshot(child.pid!), new Set([0, 1, 2]));
    // (The test runner may leave an fd of its own to the child: compare the kinds found.)
    const unsafe = [...new Set(reasons.filter((r) => r.unsafe).map((r) => r.kind))].sort();
    assert.deepEqual(unsafe, ['child-process', 'directory', 'pipe', 'threads', 'writable-file'], JSON.stringify(reasons));
    assert.ok(reasons.some((r) => r.detail.includes('/tmp/zs-probe-test') && r.kind === 'writable-file'));
  } finally {
    child.kill('SIGKILL');
  }
});
