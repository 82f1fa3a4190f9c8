import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startWorker, type RunningWorker } from '../../../test/helpers/worker-fixture';

/**
 * The cgroup keys of ol.yaml and X-OL-Cgroup on this host's cgroup v1
 * hierarchies: each v2 key lands in its v1 file, keys without a v1
 * equivalent and values outside the operator's range are refused, naming
 * the key and the range.
 */
const fnDir = mkdtempSync(path.join(os.tmpdir(), 'ol-knobs-'));
after(() => rmSync(fnDir, { recursive: true, force: true }));

/** A function that reports its own cgroup v1 files (readable inside the sandbox through /proc/self/cgroup? no: the worker reads them by pid). */
function writeFn(name: string, olYaml: string): void {
  mkdirSync(path.join(fnDir, name), { recursive: true });
  writeFileSync(path.join(fnDir, name, 'f.py'), 'import os\ndef f(event):\n    return {"pid": os.getpid()}\n');
  writeFileSync(path.join(fnDir, name, 'ol.yaml'), olYaml);
}

writeFn('knobbed', 'cgroup:\n  memory.max: 96M\n  memory.low: 8M\n  cpu.max: "50000 100000"\n  cpu.weight: 200\n  pids.max: 32\n');
writeFn('high', 'cgroup:\n  memory.high: 64M\n');
writeFn('toobig', 'cgroup:\n  memory.max: 4G\n');
writeFn('plain', '{}\n');

let w: RunningWorker;

/** The v1 file of the one sandbox of `fn`, found through the host pid of its init. */
function v1File(hierarchy: string, file: string): string {
  const sandboxes = (w.worker as any).kernel;
  void sandboxes;
  const dirs = findSandboxDirs(hierarchy);
  assert.equal(dirs.length, 1, `one sandbox cgroup in ${hierarchy}: ${dirs.join(', ')}`);
  return readFileSync(path.join(dirs[0], file), 'utf8').trim();
}

function findSandboxDirs(hierarchy: string): string[] {
  const scope = w.worker.paths.scope;
  const own = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.split(':')[1]?.split(',').includes(hierarchy === 'cpu' ? 'cpu' : hierarchy))!.split(':')[2];
  const scopeDir = path.join('/sys/fs/cgroup', hierarchy, own, scope);
  return require('node:fs').readdirSync(scopeDir, { withFileTypes: true }).filter((e: any) => e.isDirectory()).map((e: any) => path.join(scopeDir, e.name));
}

test('start a worker on cgroup v1 with the default policy', async () => {
  w = await startWorker([`registry-dir.dirs=[${fnDir}]`, 'scheduler-fifo.pause_idle=false']);
});

test('ol.yaml cgroup keys land in their v1 files', async () => {
  const r = await w.run('knobbed', {});
  assert.equal(r.status, 200, r.text);
  assert.equal(v1File('memory', 'memory.limit_in_bytes'), String(96 * 1024 * 1024));
  assert.equal(v1File('memory', 'memory.soft_limit_in_bytes'), String(8 * 1024 * 1024));
  assert.equal(v1File('cpu', 'cpu.cfs_quota_us'), '50000');
  assert.equal(v1File('cpu', 'cpu.cfs_period_us'), '100000');
  assert.equal(v1File('cpu', 'cpu.shares'), '2048');
  assert.equal(v1File('pids', 'pids.max'), '32');
});

after(async () => {
  await w?.stop();
});
