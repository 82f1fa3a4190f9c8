import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { setImmediate } from 'node:timers/promises';
import pino from 'pino';
import { SlowOpReporter, WaitTimeoutError, readCgroupMounts, waitForFileContent } from '../../../core';
import { V2Cgroup } from '../cgroup';

// Runs on the host. Its cgroup2 mount (/sys/fs/cgroup/unified) has no memory or
// pids controller, but every non-root v2 cgroup has cgroup.events,
// cgroup.freeze and cgroup.kill: enough to test the event-driven waits here,
// while the full driver is tested in the VM (cgroup-v2.vm.test.ts).

const tmp = mkdtempSync(path.join(tmpdir(), 'ol-wait-'));
let cgDir: string | undefined;
let child: ChildProcess | undefined;

after(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (cgDir && existsSync(cgDir)) rmdirSync(cgDir);
  rmSync(tmp, { recursive: true, force: true });
});

/** Open watchers and timers, once handles closed just now are gone (close callbacks run after the check phase). */
const handles = async () => {
  await setImmediate();
  await setImmediate();
  const all = process.getActiveResourcesInfo();
  return { watchers: all.filter((r) => r === 'FSEventWrap').length, timers: all.filter((r) => r === 'Timeout').length };
};

test("V2Cgroup's freeze, thaw, killAll and destroy resolve on cgroup.events notifications", async () => {
  const mount = (await readCgroupMounts()).find((m) => m.fsType === 'cgroup2');
  assert.ok(mount, 'this host has a cgroup2 mount (MISSION.md: /sys/fs/cgroup/unified)');
  cgDir = path.join(mount.mountPoint, `ol-test-events-${randomBytes(4).toString('hex')}`);
  mkdirSync(cgDir);
  const cg = new V2Cgroup('events', cgDir, new SlowOpReporter(pino({ level: 'silent' }), 100), 5000);
  child = spawn('/bin/sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
  writeFileSync(cg.procsFiles[0], String(child.pid));
  assert.deepEqual(await cg.pids(), [child.pid]);

  await cg.freeze();
  assert.match(readFileSync(path.join(cgDir, 'cgroup.events'), 'utf8'), /frozen 1/);
  assert.equal(/State:\s+(\S)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1], 'S');
  await cg.thaw();
  assert.match(readFileSync(path.join(cgDir, 'cgroup.events'), 'utf8'), /frozen 0/);

  await cg.killAll();
  assert.match(readFileSync(path.join(cgDir, 'cgroup.events'), 'utf8'), /populated 0/);
  if (child.signalCode === null) await once(child, 'exit');
  assert.equal(child.signalCode, 'SIGKILL');
  await cg.destroy();
  assert.equal(existsSync(cgDir), false);
});

test('waitForFileContent (inotify) sees a change made after the call and releases its watcher and timer', async () => {
  const file = path.join(tmp, 'watched');
  writeFileSync(file, 'start');
  const before = await handles();
  const waiting = waitForFileContent(file, (c) => c === 'done', { timeoutMs: 5000 });
  setTimeout(() => writeFileSync(file, 'done'), 20);
  const { content, elapsedMs } = await waiting;
  assert.equal(content, 'done');
  assert.ok(elapsedMs < 5000);
  assert.deepEqual(await handles(), before);
});

test('waitForFileContent resolves at once when the content is already there (the read after arming the watch)', async () => {
  const file = path.join(tmp, 'ready');
  writeFileSync(file, 'done');
  const { elapsedMs } = await waitForFileContent(file, (c) => c === 'done', { timeoutMs: 5000 });
  assert.ok(elapsedMs < 1000);
});

test('waitForFileContent gives up with WaitTimeoutError carrying the last content, leaking nothing, in both modes', async () => {
  const file = path.join(tmp, 'never');
  writeFileSync(file, 'nope');
  const before = await handles();
  for (const opts of [{ timeoutMs: 150 }, { timeoutMs: 150, pollMs: 1 }]) {
    const started = Date.now();
    await assert.rejects(waitForFileContent(file, () => false, opts), (e: unknown) => e instanceof WaitTimeoutError && e.lastContent === 'nope' && /gave up after 150 ms/.test(e.message));
    assert.ok(Date.now() - started >= 140, 'waited the whole bound');
  }
  assert.deepEqual(await handles(), before);
});

test('waitForFileContent polls with backoff when asked to, and passes read errors on', async () => {
  const file = path.join(tmp, 'polled');
  writeFileSync(file, '1');
  setTimeout(() => writeFileSync(file, '2'), 30);
  assert.equal((await waitForFileContent(file, (c) => c === '2', { timeoutMs: 5000, pollMs: 1 })).content, '2');
  await assert.rejects(waitForFileContent(path.join(tmp, 'missing'), () => true, { timeoutMs: 100 }), { code: 'ENOENT' });
  await assert.rejects(waitForFileContent(path.join(tmp, 'missing'), () => true, { timeoutMs: 100, pollMs: 1 }), { code: 'ENOENT' });
});
