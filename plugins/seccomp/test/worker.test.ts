// The seccomp plugin in a real worker: per-function profiles within the
// operator's list, kill mode, and the blocked call named in the failure.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EXAMPLES, REPO, startWorker, type RunningWorker } from '../../../test/helpers/worker-fixture';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ol-seccomp-worker-'));
const fns = path.join(tmp, 'functions');
const profiles = path.join(tmp, 'profiles');

function fn(name: string, code: string, olYaml?: string): void {
  fs.mkdirSync(path.join(fns, name), { recursive: true });
  fs.writeFileSync(path.join(fns, name, 'f.py'), code);
  if (olYaml) fs.writeFileSync(path.join(fns, name, 'ol.yaml'), olYaml);
}

let w: RunningWorker;
before(async () => {
  // "nopriority": the default profile without getpriority, chosen by one function's ol.yaml.
  const base = JSON.parse(fs.readFileSync(path.join(REPO, 'plugins/seccomp/profiles/default.json'), 'utf8'));
  base.syscalls[0].names = base.syscalls[0].names.filter((n: string) => n !== 'getpriority');
  fs.mkdirSync(profiles, { recursive: true });
  fs.writeFileSync(path.join(profiles, 'nopriority.json'), JSON.stringify(base));
  fn('mounter', 'import ctypes\ndef f(event):\n    print("calling mount", flush=True)\n    ctypes.CDLL(None).mount(b"none", b"/tmp", b"tmpfs", 0, None)\n    return "survived"\n');
  const priority = 'import os\ndef f(event):\n    return os.getpriority(os.PRIO_PROCESS, 0)\n';
  fn('priority-default', priority);
  fn('priority-strict', priority, 'seccomp: nopriority\n');
  fn('wants-unknown', 'def f(event):\n    return 1\n', 'seccomp: bespoke\n');
  w = await startWorker([
    `registry-dir.dirs=[${EXAMPLES}, ${fns}]`,
    'seccomp.blocked_action=kill',
    `seccomp.profile_dirs=[${profiles}]`,
    'seccomp.allowed_profiles=[nopriority]',
  ]);
});
after(async () => {
  await w?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('Python and the runtime run under the default profile in kill mode', async () => {
  const r = await w.run('echo', { a: 1 });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { a: 1 });
});

test('kill mode: a blocked call kills the instance and the failure names the call', async () => {
  const r = await w.run('mounter', {});
  assert.equal(r.status, 502, r.text);
  assert.equal(r.json.errorKind, 'blocked-syscall');
  assert.match(r.json.errorMessage, /tried to call `mount`, a blocked system call/);
  // The worker keeps serving.
  assert.equal((await w.run('echo', 2)).status, 200);
});

test("ol.yaml `seccomp:` picks an allowed profile: the same code runs under the default and dies under the stricter one", async () => {
  const ok = await w.run('priority-default', {});
  assert.equal(ok.status, 200, ok.text);
  const strict = await w.run('priority-strict', {});
  assert.equal(strict.status, 502, strict.text);
  assert.match(strict.json.errorMessage, /tried to call `getpriority`/);
});

test('a profile the operator does not allow is refused, naming the key and what to do', async () => {
  const r = await w.run('wants-unknown', {});
  assert.equal(r.status, 422, r.text);
  assert.match(r.text, /seccomp: profile \\?"bespoke\\?" is not allowed on this worker \(allowed: default, nopriority\)/);
  assert.match(r.text, /seccomp\.allowed_profiles/);
});

test('both tiers of every allowed profile are compiled under the worker dir', () => {
  const files = fs.readdirSync(path.join(w.dir, 'seccomp')).sort();
  assert.deepEqual(files, ['default.leaf.bpf', 'default.zygote.bpf', 'nopriority.leaf.bpf', 'nopriority.zygote.bpf']);
  for (const f of files) assert.equal(fs.statSync(path.join(w.dir, 'seccomp', f)).size % 8, 0);
});
