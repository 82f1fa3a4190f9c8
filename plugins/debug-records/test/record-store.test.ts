// The record store on a real directory: bounded per function, by age and by
// number of functions; records survive a restart; followers are woken.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import type { InvocationRecord } from '../../../core';
import { workerPaths } from '../../../core/lifecycle/worker-paths';
import type { DebugRecordsConfig } from '../config';
import { RecordStore } from '../record-store';

function store(dir: string, config: Partial<DebugRecordsConfig> = {}): RecordStore {
  const full: DebugRecordsConfig = { keep_per_function: 3, max_age_s: 3600, max_functions: 2, ...config };
  return new RecordStore(full, workerPaths(dir), pino({ level: 'silent' }));
}

function rec(fn: string, id: string, startedAt = new Date().toISOString()): InvocationRecord {
  return { requestId: id, function: fn, startedAt, durationMs: 5, outcome: 'ok', output: { stdout: `out ${id}\n`, stderr: '', stdoutBytes: 7, stderrBytes: 0, truncated: false }, usage: { runMs: 3 } };
}

async function settled(s: RecordStore, fn: string, id: string): Promise<void> {
  const found = await s.waitFor(fn, undefined, 5000);
  if (!found.some((r) => r.requestId === id)) await s.waitFor(fn, found.at(-1)?.requestId, 5000);
}

test('keeps the last keep_per_function records of a function, on disk, and removes the rest', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oldr-'));
  const s = store(dir);
  await s.start();
  for (const id of ['a1', 'a2', 'a3', 'a4', 'a5']) s.record(rec('f', id));
  await s.stop();
  assert.deepEqual(s.list('f').map((r) => r.requestId), ['a3', 'a4', 'a5']);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'debug', 'f')).sort(), ['a3.json', 'a4.json', 'a5.json']);
  assert.equal(await s.files.readStream('f', 'a5', 'stdout'), 'out a5\n');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('past max_functions, the function recorded least recently loses its records', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oldr-'));
  const s = store(dir);
  await s.start();
  s.record(rec('one', 'x1'));
  s.record(rec('two', 'x2'));
  s.record(rec('one', 'x3'));
  s.record(rec('three', 'x4'));
  await s.stop();
  assert.deepEqual(s.list('two'), []);
  assert.deepEqual(s.list('one').map((r) => r.requestId), ['x1', 'x3']);
  assert.ok(!fs.existsSync(path.join(dir, 'debug', 'two')));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('records survive a restart; those older than max_age_s do not', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oldr-'));
  const first = store(dir);
  await first.start();
  first.record(rec('f', 'old', new Date(Date.now() - 7200_000).toISOString()));
  first.record(rec('f', 'new'));
  await first.stop();
  const second = store(dir);
  await second.start();
  assert.deepEqual(second.list('f').map((r) => r.requestId), ['new']);
  assert.ok(!fs.existsSync(path.join(dir, 'debug', 'f', 'old')));
  await second.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a follower waiting for new records is woken by the next one', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oldr-'));
  const s = store(dir);
  await s.start();
  s.record(rec('f', 'first'));
  await settled(s, 'f', 'first');
  const waiting = s.waitFor('f', 'first', 10_000);
  s.record(rec('f', 'second'));
  const started = Date.now();
  assert.deepEqual((await waiting).map((r) => r.requestId), ['second']);
  assert.ok(Date.now() - started < 5000, 'the follower waited for its timeout instead of being woken');
  await s.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('names that cannot be directory names are not recorded', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oldr-'));
  const s = store(dir);
  await s.start();
  s.record(rec('../escape', 'id1'));
  s.record(rec('f', '../../id'));
  await s.stop();
  assert.deepEqual(fs.readdirSync(path.join(dir, 'debug')), []);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a call that succeeded and printed nothing is listed and served from memory, with no file written', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oldr-'));
  const s = store(dir);
  await s.start();
  const quiet: InvocationRecord = { ...rec('f', 'q1'), output: { stdout: '', stderr: '', stdoutBytes: 0, stderrBytes: 0, truncated: false } };
  s.record(quiet);
  s.record(rec('f', 'loud1'));
  await s.stop();
  assert.deepEqual(s.list('f').map((r) => r.requestId), ['q1', 'loud1']);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'debug', 'f')), ['loud1.json']);
  assert.equal((await s.files.read('f', 'q1'))?.outcome, 'ok');
  assert.equal(await s.files.readStream('f', 'q1', 'stdout'), '');
  await s.files.remove('f', 'q1');
  assert.equal(await s.files.read('f', 'q1'), null);
  fs.rmSync(dir, { recursive: true, force: true });
});
