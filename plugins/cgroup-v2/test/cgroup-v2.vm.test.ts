import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { CGROUP_DRIVER_DEFAULTS, type Cgroup, type CgroupDriverConfig } from '../../../core';
import { CgroupV2Driver } from '../driver';

// Needs a pure cgroup v2 kernel: run inside ../shared/tools/run-in-vm. On any
// other host the first test fails (it does not skip).
const ROOT = '/sys/fs/cgroup';
const MiB = 1024 * 1024;
const tag = randomBytes(4).toString('hex');
const spawned: ChildProcess[] = [];
const drivers: CgroupV2Driver[] = [];
const cgroupsToRemove: string[] = [];

const cat = (file: string) => readFileSync(file, 'utf8').trim();
/** The controllers the driver enables for sandboxes: memory, pids, and the optional ones the VM's root offers. */
const SANDBOX_CONTROLLERS = ['cpu', 'cpuset', 'hugetlb', 'io', 'memory', 'pids'].filter((c) => c === 'memory' || c === 'pids' || cat(path.join(ROOT, 'cgroup.controllers')).split(' ').includes(c));
const events = (dir: string) => Object.fromEntries(cat(path.join(dir, 'cgroup.events')).split('\n').map((l) => l.split(' ')));
const ownCgroup = (pid: number | 'self' = 'self') => cat(`/proc/${pid}/cgroup`).split('\n').find((l) => l.startsWith('0::'))!.slice(3);
const stateOf = (pid: number) => /State:\s+(\S)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1];

function newDriver(config: Partial<CgroupDriverConfig> = {}, log = pino({ level: 'silent' })): CgroupV2Driver {
  const driver = new CgroupV2Driver({ ...CGROUP_DRIVER_DEFAULTS, ...config }, log);
  drivers.push(driver);
  return driver;
}

function run(cmd: string, args: string[]): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'ignore'] });
  spawned.push(child);
  return child;
}

/** A python3 that does `body` once it reads a line, i.e. once the test has moved it into its cgroup. */
const pyAfterGo = (body: string) => run('/usr/bin/python3', ['-c', `import os, sys, time\nsys.stdin.readline()\n${body}`]);
const spin = () => run('/bin/sh', ['-c', 'while :; do :; done']);

function enter(cg: Cgroup, child: ChildProcess): void {
  assert.equal(cg.procsFiles.length, 1, 'v2 has a single hierarchy');
  writeFileSync(cg.procsFiles[0], String(child.pid));
}

async function ended(child: ChildProcess): Promise<string | number | null> {
  if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  return child.signalCode ?? child.exitCode;
}

const dirOf = (cg: Cgroup) => path.dirname(cg.procsFiles[0]);

/** Why this host cannot run these tests, if it cannot. Every test fails on it (none skips). */
function hostProblem(): string | undefined {
  if (!/ \/sys\/fs\/cgroup .* - cgroup2 /.test(cat('/proc/self/mountinfo'))) return `no cgroup2 mount at ${ROOT}: run this test inside ../shared/tools/run-in-vm`;
  const controllers = cat(path.join(ROOT, 'cgroup.controllers')).split(' ');
  const missing = ['memory', 'pids', 'cpu'].filter((c) => !controllers.includes(c));
  if (missing.length) return `${ROOT}/cgroup.controllers lacks ${missing.join(', ')}`;
  if (ownCgroup() !== '/') return `the test must start in the root cgroup, not ${ownCgroup()} (as in run-in-vm)`;
  return undefined;
}
const problem = hostProblem();
/** Called first in every test, so that on a wrong host nothing touches /sys/fs/cgroup. */
const requirePureV2 = () => assert.equal(problem, undefined, problem);

after(async () => {
  for (const c of spawned) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (problem) return;
  for (const d of drivers) await d.shutdown().catch(() => undefined);
  // Back to the root cgroup, which alone may hold processes beside children with controllers.
  writeFileSync(path.join(ROOT, 'cgroup.procs'), String(process.pid));
  for (const dir of cgroupsToRemove.reverse()) if (existsSync(dir)) rmdirSync(dir);
});

test('this host has a pure cgroup v2 hierarchy with the memory, pids and cpu controllers', requirePureV2);

test('probe() is true', async () => {
  requirePureV2();
  const driver = newDriver();
  assert.equal(await driver.probe(), true);
  assert.equal(driver.version, 'v2');
});

test('in the root cgroup: <scope> sits directly in the root, the worker stays put', async () => {
  requirePureV2();
  const scope = `ol-test-${tag}-root`;
  const driver = newDriver();
  await driver.init(scope);
  assert.equal(ownCgroup(), '/');
  assert.equal(existsSync(path.join(ROOT, `${scope}-worker`)), false);
  assert.deepEqual(cat(path.join(ROOT, scope, 'cgroup.subtree_control')).split(' ').sort(), SANDBOX_CONTROLLERS);
  const cg = await driver.create('a', { memMb: 32, procs: 8, cpuPercent: 100, timeoutMs: 1000 });
  assert.equal(dirOf(cg), path.join(ROOT, scope, 'a'));
  await driver.shutdown();
  assert.equal(existsSync(path.join(ROOT, scope)), false);
});

// The rest runs as a worker started by a service manager would: in a non-root cgroup of its own.
const own = path.join(ROOT, `ol-test-own-${tag}`);
const scope = `ol-test-${tag}`;
const limits = { memMb: 64, procs: 16, cpuPercent: 50, timeoutMs: 1000 };
let main: CgroupV2Driver;
let sandbox: Cgroup;
let companion: ChildProcess;

test('in a delegated cgroup: init() moves the worker (and its companions) into <scope>-worker and enables controllers', async () => {
  requirePureV2();
  mkdirSync(own);
  cgroupsToRemove.push(own, path.join(own, `${scope}-worker`));
  writeFileSync(path.join(own, 'cgroup.procs'), String(process.pid));
  companion = run('/bin/sleep', ['600']);
  writeFileSync(path.join(own, 'cgroup.procs'), String(companion.pid));

  main = newDriver();
  await main.init(scope);
  const leaf = `/ol-test-own-${tag}/${scope}-worker`;
  assert.equal(ownCgroup(), leaf);
  assert.equal(ownCgroup(companion.pid!), leaf);
  assert.equal(cat(path.join(own, 'cgroup.procs')), '');
  for (const dir of [own, path.join(own, scope)]) {
    assert.deepEqual(cat(path.join(dir, 'cgroup.subtree_control')).split(' ').sort(), SANDBOX_CONTROLLERS, dir);
  }
});

test('create() writes the limits', async () => {
  requirePureV2();
  sandbox = await main.create('sb1', limits);
  const dir = path.join(own, scope, 'sb1');
  assert.equal(dirOf(sandbox), dir);
  assert.equal(cat(path.join(dir, 'memory.max')), String(64 * MiB));
  if (existsSync(path.join(dir, 'memory.swap.max'))) assert.equal(cat(path.join(dir, 'memory.swap.max')), '0');
  assert.equal(cat(path.join(dir, 'memory.oom.group')), '1');
  assert.equal(cat(path.join(dir, 'pids.max')), '16');
  assert.equal(cat(path.join(dir, 'cpu.max')), '50000 100000');
  await assert.rejects(main.create('sb1', limits), /already exists/);
  await assert.rejects(main.create('../escape', limits), /invalid sandbox cgroup name/);
});

test('a process joins through procsFiles; freeze() and thaw() resolve on cgroup.events', async () => {
  requirePureV2();
  const child = spin();
  enter(sandbox, child);
  assert.equal(ownCgroup(child.pid!), `/ol-test-own-${tag}/${scope}/sb1`);
  assert.deepEqual(await sandbox.pids(), [child.pid]);
  assert.equal(events(dirOf(sandbox)).populated, '1');

  await sandbox.freeze();
  assert.equal(events(dirOf(sandbox)).frozen, '1');
  assert.equal(stateOf(child.pid!), 'S', 'a frozen task sleeps in the cgroup freezer');
  const before = (await sandbox.stats()).cpuUsageUsec;
  await sandbox.thaw();
  assert.equal(events(dirOf(sandbox)).frozen, '0');
  assert.equal(stateOf(child.pid!), 'R', 'a thawed busy loop is runnable again');

  const stats = await sandbox.stats();
  assert.ok((stats.cpuUsageUsec ?? 0) > 0 && (stats.cpuUsageUsec ?? 0) >= (before ?? 0));
  assert.equal(stats.pidsCurrent, 1);
  assert.equal(typeof stats.memoryBytes, 'number');

  await sandbox.killAll();
  assert.equal(events(dirOf(sandbox)).populated, '0');
  assert.equal(await ended(child), 'SIGKILL');
  assert.deepEqual(await sandbox.pids(), []);
});

test('a memory hog past memMb is OOM-killed and counted', async () => {
  requirePureV2();
  const cg = await main.create('oom', limits);
  const hog = pyAfterGo(`b = b'x' * (200 << 20)\nprint('survived', flush=True)`);
  enter(cg, hog);
  hog.stdin!.write('go\n');
  assert.equal(await ended(hog), 'SIGKILL');
  const stats = await cg.stats();
  assert.ok(stats.oomKills >= 1, `oomKills = ${stats.oomKills}`);
  if (stats.memoryPeakBytes !== undefined) assert.ok(stats.memoryPeakBytes > 32 * MiB && stats.memoryPeakBytes <= 64 * MiB, `peak ${stats.memoryPeakBytes}`);
  await cg.destroy();
  assert.equal(existsSync(dirOf(cg)), false);
});

test('a fork loop stops at pids.max and is counted; killAll() empties the group', async () => {
  requirePureV2();
  const cg = await main.create('forks', { ...limits, procs: 8 });
  const forker = pyAfterGo(
    [
      'fails = 0',
      'for i in range(30):',
      '    try:',
      '        if os.fork() == 0:',
      '            time.sleep(600); os._exit(0)',
      '    except BlockingIOError:',
      '        fails += 1',
      'print(fails, flush=True)',
      'time.sleep(600)',
    ].join('\n'),
  );
  enter(cg, forker);
  forker.stdin!.write('go\n');
  const [line] = await once(forker.stdout!, 'data');
  assert.ok(Number(String(line)) >= 1, `the script saw no failed fork: ${line}`);
  const stats = await cg.stats();
  assert.ok(stats.pidsLimitHits >= 1, `pidsLimitHits = ${stats.pidsLimitHits}`);
  assert.equal(stats.pidsCurrent, 8);

  await cg.killAll();
  assert.equal(events(dirOf(cg)).populated, '0');
  assert.equal(await ended(forker), 'SIGKILL');
  await cg.destroy();
  assert.equal(existsSync(dirOf(cg)), false);
});

test('destroy() of a busy cgroup gives up after give_up_ms with a clear error; slow operations are logged', async () => {
  requirePureV2();
  const logged: any[] = [];
  const driver = newDriver({ give_up_ms: 300, slow_ms: 0 }, pino({ level: 'warn' }, { write: (s: string) => void logged.push(JSON.parse(s)) }));
  await driver.init(`${scope}-b`);
  const cg = await driver.create('busy', limits);
  enter(cg, spin());
  await assert.rejects(cg.destroy(), /still busy after 300 ms/);
  await cg.freeze();
  assert.ok(logged.some((w) => w.slow_op === 'freeze' && w.cgroup === 'busy' && typeof w.ms === 'number'), JSON.stringify(logged));
  await cg.killAll();
  await cg.destroy();
  await driver.shutdown();
  assert.equal(existsSync(path.join(own, `${scope}-b`)), false);
});

test("init() of the same scope kills and removes a crashed worker's leftovers", async () => {
  requirePureV2();
  const crashedScope = `${scope}-c`;
  const crashed = newDriver();
  await crashed.init(crashedScope);
  const cg = await crashed.create('orphan', limits);
  const child = spin();
  enter(cg, child);
  await cg.freeze(); // cgroup.kill kills frozen members too

  await newDriver().init(crashedScope);
  assert.equal(await ended(child), 'SIGKILL');
  assert.equal(existsSync(dirOf(cg)), false);
  assert.equal(existsSync(path.join(own, crashedScope)), true);
});

test('shutdown() kills what is left, removes <scope>, and leaves the worker in its leaf', async () => {
  requirePureV2();
  const left = await main.create('left', limits);
  const child = spin();
  enter(left, child);
  await main.shutdown();
  assert.equal(await ended(child), 'SIGKILL');
  assert.equal(existsSync(path.join(own, scope)), false);
  assert.equal(ownCgroup(), `/ol-test-own-${tag}/${scope}-worker`);
  await main.shutdown(); // idempotent
  companion.kill('SIGKILL');
});
