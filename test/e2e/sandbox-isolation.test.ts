import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startWorker, type RunningWorker } from '../helpers/worker-fixture';

let w: RunningWorker;
let inside: any;
before(async () => {
  w = await startWorker();
  const r = await w.run('inspect', {});
  assert.equal(r.status, 200, r.text);
  inside = r.json;
});
after(async () => w?.stop());

test('the instance runs in its own mount, PID, IPC, UTS and network namespaces', () => {
  for (const ns of ['mnt', 'pid', 'ipc', 'uts', 'net']) {
    assert.notEqual(inside.ns[ns], fs.readlinkSync(`/proc/self/ns/${ns}`), ns);
  }
  assert.ok(inside.pid <= 3, `pid inside the sandbox should be tiny, got ${inside.pid}`);
  assert.equal(inside.hostname, 'sandbox');
});

test('its root holds only the expected mounts', () => {
  const allowed = [/^\/$/, /^\/(usr|lib|lib64|bin|sbin)(\/|$)/, /^\/etc\//, /^\/runtime$/, /^\/handler$/, /^\/host$/, /^\/tmp$/, /^\/proc(\/|$)/, /^\/dev(\/|$)/];
  const unexpected = inside.mounts.filter((m: string) => !allowed.some((re) => re.test(m)));
  assert.deepEqual(unexpected, []);
  for (const m of ['/handler', '/host', '/tmp', '/proc', '/runtime']) assert.ok(inside.mounts.includes(m), m);
});

test('/handler and the base are read-only; /host and /tmp are writable', () => {
  assert.equal(inside.write_handler, 'Read-only file system');
  assert.equal(inside.write_usr, 'Read-only file system');
  assert.equal(inside.write_host, 'ok');
  assert.equal(inside.write_tmp, 'ok');
});

test("the host's files outside the base are not visible", () => {
  assert.deepEqual(inside.visible, { '/root': false, '/work': false, '/home': false, '/var/lib': false, '/handler/f.py': true, '/host': true });
});

test('the environment is exactly the defaults plus ol.yaml environment', () => {
  assert.equal(inside.env.GREETING, 'hi');
  assert.equal(inside.env.ANSWER, '42');
  const hostOnly = Object.keys(process.env).filter((k) => !['PATH', 'HOME', 'LANG'].includes(k) && k in inside.env);
  assert.deepEqual(hostOnly, []);
});

test('the sandbox has no capabilities and no_new_privs', () => {
  for (const k of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) assert.equal(inside.status[k], '0000000000000000', k);
  assert.equal(inside.status.NoNewPrivs, '1');
});

test("its cgroup carries the function's limits", () => {
  const lines: string[] = inside.cgroup.trim().split('\n');
  const memLine = lines.find((l) => /:memory:/.test(l) || l.startsWith('0::'));
  assert.ok(memLine, inside.cgroup);
  const rel = memLine!.split(':')[2];
  const v1 = fs.existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes');
  if (v1) {
    assert.equal(Number(fs.readFileSync(path.join('/sys/fs/cgroup/memory', rel, 'memory.limit_in_bytes'), 'utf8')), 96 * 1024 * 1024);
    const pidsRel = lines.find((l) => /:pids:/.test(l))!.split(':')[2];
    assert.equal(fs.readFileSync(path.join('/sys/fs/cgroup/pids', pidsRel, 'pids.max'), 'utf8').trim(), '48');
  } else {
    assert.equal(Number(fs.readFileSync(path.join('/sys/fs/cgroup', rel, 'memory.max'), 'utf8')), 96 * 1024 * 1024);
    assert.equal(fs.readFileSync(path.join('/sys/fs/cgroup', rel, 'pids.max'), 'utf8').trim(), '48');
  }
  assert.ok(rel.includes(w.worker.paths.scope), `sandbox cgroup ${rel} should be under the worker's subtree ${w.worker.paths.scope}`);
});
