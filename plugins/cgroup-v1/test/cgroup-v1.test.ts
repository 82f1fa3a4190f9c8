import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { CGROUP_DRIVER_DEFAULTS, type Cgroup, type CgroupDriverConfig } from '../../../core';
import { CgroupV1Driver } from '../driver';

// Runs on the host: hybrid cgroups with writable v1 hierarchies under /sys/fs/cgroup (see MISSION.md).
const HIERARCHIES = ['memory', 'pids', 'cpu', 'cpuacct', 'freezer'];
const silent = pino({ level: 'silent' });
const scope = `ol-test-${randomBytes(4).toString('hex')}`;
const children: ChildProcess[] = [];
const drivers: CgroupV1Driver[] = [];

function driver(overrides: Partial<CgroupDriverConfig> = {}, log = silent): CgroupV1Driver {
  const d = new CgroupV1Driver({ ...CGROUP_DRIVER_DEFAULTS, ...overrides }, log);
  drivers.push(d);
  return d;
}

/** A process that waits for a line on stdin before running `work` (so it can be moved first). */
function python(work: string): ChildProcess {
  const child = spawn('/usr/bin/python3', ['-c', `import os, sys, time\nsys.stdin.readline()\n${work}`], { stdio: ['pipe', 'pipe', 'ignore'] });
  children.push(child);
  return child;
}

function busyLoop(): ChildProcess {
  const child = spawn('/bin/sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
  children.push(child);
  return child;
}

async function moveInto(cg: Cgroup, child: ChildProcess): Promise<void> {
  for (const f of cg.procsFiles) await writeFile(f, String(child.pid));
}

function exitOf(child: ChildProcess): Promise<NodeJS.Signals | number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.signalCode ?? child.exitCode);
  return once(child, 'exit').then(([code, signal]) => signal ?? code);
}

/** The sandbox's directory in one hierarchy, e.g. /sys/fs/cgroup/memory/<own>/<scope>/<name>. */
function dirIn(cg: Cgroup, hierarchy: string): string {
  const file = cg.procsFiles.find((f) => f.startsWith(`/sys/fs/cgroup/${hierarchy}/`));
  assert.ok(file, `no procs file in the ${hierarchy} hierarchy: ${cg.procsFiles.join(', ')}`);
  return path.dirname(file);
}

const read = (dir: string, file: string) => readFileSync(path.join(dir, file), 'utf8').trim();
const procState = (pid: number) => /State:\s+(\S)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1];

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of drivers) await d.shutdown().catch(() => undefined);
});

const limits = { memMb: 64, procs: 16, cpuPercent: 50, timeoutMs: 1000 };
const main = driver();
let sandbox: Cgroup;

test('probe() is true on this hybrid host', async () => {
  assert.equal(await main.probe(), true);
  assert.equal(main.version, 'v1');
});

test('init() makes <own>/<scope> in each hierarchy; create() sets the limits', async () => {
  await main.init(scope);
  sandbox = await main.create('sb1', limits);
  assert.equal(sandbox.procsFiles.length, new Set(sandbox.procsFiles).size);
  for (const h of HIERARCHIES) {
    const dir = dirIn(sandbox, h);
    assert.ok(dir.endsWith(`/${scope}/sb1`), dir);
    assert.ok(existsSync(path.dirname(dir)));
  }
  const mem = dirIn(sandbox, 'memory');
  assert.equal(read(mem, 'memory.limit_in_bytes'), String(64 * 1024 * 1024));
  if (existsSync(path.join(mem, 'memory.memsw.limit_in_bytes'))) assert.equal(read(mem, 'memory.memsw.limit_in_bytes'), String(64 * 1024 * 1024));
  assert.equal(read(mem, 'memory.swappiness'), '0');
  assert.equal(read(dirIn(sandbox, 'pids'), 'pids.max'), '16');
  assert.equal(read(dirIn(sandbox, 'cpu'), 'cpu.cfs_period_us'), '100000');
  assert.equal(read(dirIn(sandbox, 'cpu'), 'cpu.cfs_quota_us'), '50000');
});

test('setLimits() raises and lowers memory without breaking limit <= memsw', async () => {
  await sandbox.setLimits({ ...limits, memMb: 256 });
  assert.equal(read(dirIn(sandbox, 'memory'), 'memory.limit_in_bytes'), String(256 * 1024 * 1024));
  await sandbox.setLimits(limits);
  assert.equal(read(dirIn(sandbox, 'memory'), 'memory.limit_in_bytes'), String(64 * 1024 * 1024));
});

test('processes join through procsFiles; freeze() and thaw() stop and resume them', async () => {
  const child = busyLoop();
  await moveInto(sandbox, child);
  const lines = readFileSync(`/proc/${child.pid}/cgroup`, 'utf8').split('\n');
  for (const h of HIERARCHIES) {
    const line = lines.find((l) => l.split(':')[1]?.split(',').includes(h));
    assert.ok(line?.endsWith(`/${scope}/sb1`), `${h}: ${line}`);
  }
  assert.deepEqual(await sandbox.pids(), [child.pid]);

  await sandbox.freeze();
  assert.equal(read(dirIn(sandbox, 'freezer'), 'freezer.state'), 'FROZEN');
  assert.equal(procState(child.pid!), 'D', 'a frozen task sits in the refrigerator (D)');
  await sandbox.thaw();
  assert.equal(read(dirIn(sandbox, 'freezer'), 'freezer.state'), 'THAWED');
  assert.notEqual(procState(child.pid!), 'D');

  const stats = await sandbox.stats();
  assert.equal(stats.pidsCurrent, 1);
  assert.ok((stats.cpuUsageUsec ?? 0) > 0, 'the busy loop used CPU');
  // v1 does not move a task's earlier memory charges with it: usage may still read 0 here.
  assert.equal(typeof stats.memoryBytes, 'number');

  await sandbox.killAll();
  assert.equal(await exitOf(child), 'SIGKILL');
  assert.deepEqual(await sandbox.pids(), []);
});

test('a memory hog past memMb is OOM-killed and counted', async () => {
  const cg = await main.create('oom', limits);
  const hog = python(`b = b'x' * (200 << 20)\nprint('survived', flush=True)`);
  await moveInto(cg, hog);
  hog.stdin!.write('go\n');
  assert.equal(await exitOf(hog), 'SIGKILL');
  const stats = await cg.stats();
  assert.ok(stats.oomKills >= 1, `oomKills = ${stats.oomKills}`);
  const peak = stats.memoryPeakBytes ?? 0;
  assert.ok(peak > 32 * 1024 * 1024 && peak <= 64 * 1024 * 1024, `peak ${peak}`);
  await cg.destroy();
  assert.equal(existsSync(dirIn(cg, 'memory')), false);
});

test('a fork loop stops at pids.max and is counted; killAll() kills every member', async () => {
  const cg = await main.create('forks', { ...limits, procs: 8 });
  const forker = python(
    'fails = 0\n' +
      'for i in range(30):\n' +
      '    try:\n' +
      '        if os.fork() == 0:\n' +
      '            time.sleep(600); os._exit(0)\n' +
      '    except BlockingIOError:\n' +
      '        fails += 1\n' +
      'print(fails, flush=True)\n' +
      'time.sleep(600)',
  );
  await moveInto(cg, forker);
  forker.stdin!.write('go\n');
  const [out] = await once(forker.stdout!, 'data');
  assert.ok(Number(String(out)) >= 1, `fork failures reported by the script: ${out}`);
  const stats = await cg.stats();
  assert.ok(stats.pidsLimitHits >= 1, `pidsLimitHits = ${stats.pidsLimitHits}`);
  assert.equal(stats.pidsCurrent, 8);
  assert.equal((await cg.pids()).length, 8);

  await cg.killAll();
  assert.deepEqual(await cg.pids(), []);
  assert.equal(await exitOf(forker), 'SIGKILL');
  await cg.destroy();
  for (const h of HIERARCHIES) assert.equal(existsSync(dirIn(cg, h)), false, h);
});

test('destroy() of a busy cgroup gives up after give_up_ms with a clear error; slow operations are logged', async () => {
  const warnings: any[] = [];
  const log = pino({ level: 'warn' }, { write: (s: string) => void warnings.push(JSON.parse(s)) });
  const d = driver({ give_up_ms: 300, slow_ms: 0 }, log);
  const otherScope = `${scope}-b`;
  await d.init(otherScope);
  const cg = await d.create('busy', limits);
  const child = busyLoop();
  await moveInto(cg, child);
  const started = Date.now();
  await assert.rejects(cg.destroy(), /still busy after 300 ms/);
  assert.ok(Date.now() - started < 3000);
  await cg.freeze();
  assert.ok(warnings.some((w) => w.slow_op === 'freeze' && typeof w.ms === 'number' && w.cgroup === 'busy'), JSON.stringify(warnings));
  await cg.killAll();
  await cg.destroy();
  await d.shutdown();
  for (const h of HIERARCHIES) assert.equal(existsSync(path.dirname(dirIn(cg, h))), false, `${otherScope} in ${h}`);
});

test("init() of the same scope kills and removes a crashed worker's leftovers", async () => {
  const orphanScope = `${scope}-c`;
  const crashed = driver();
  await crashed.init(orphanScope);
  const cg = await crashed.create('orphan', limits);
  const child = busyLoop();
  await moveInto(cg, child);
  await cg.freeze(); // a leftover may well be frozen: cleanup must still kill it

  const next = driver();
  await next.init(orphanScope);
  assert.equal(await exitOf(child), 'SIGKILL');
  for (const h of HIERARCHIES) {
    assert.equal(existsSync(dirIn(cg, h)), false, `orphan still in ${h}`);
    assert.equal(existsSync(path.dirname(dirIn(cg, h))), true, `scope missing in ${h}`);
  }
  await next.shutdown();
  for (const h of HIERARCHIES) assert.equal(existsSync(path.dirname(dirIn(cg, h))), false, h);
});

test('shutdown() kills what is left and removes the scope in every hierarchy', async () => {
  const left = await main.create('left', limits);
  const child = busyLoop();
  await moveInto(left, child);
  await main.shutdown();
  assert.equal(await exitOf(child), 'SIGKILL');
  for (const h of HIERARCHIES) assert.equal(existsSync(path.dirname(dirIn(sandbox, h))), false, `${scope} still in ${h}`);
  await main.shutdown(); // idempotent
});
