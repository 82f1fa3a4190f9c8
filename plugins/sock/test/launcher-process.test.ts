// LauncherProcess, for real: programs started through the addon's
// posix_spawn (no fork of the worker), their pipes, their exit reported
// through a pidfd, nothing left behind: no zombie, no fd, no stray process.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as cp from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import type { Logger } from '../../../core';
import { LauncherProcess } from '../launcher-process';

const log = pino({ level: 'silent' }) as unknown as Logger;
const LAUNCHER = path.resolve(__dirname, '../../../../native/build/ol-launcher');
const T = { timeout: 60_000 };

const openFds = () => fs.readdirSync('/proc/self/fd').length;

/** Our children, zombies included (every thread's, as any thread may be a parent). */
function children(): string[] {
  return fs.readdirSync('/proc/self/task').flatMap((t) => fs.readFileSync(`/proc/self/task/${t}/children`, 'utf8').split(' ').filter(Boolean));
}

/** Polls until `read()` equals `want` (fds close and children go a moment after their events). */
async function settles<V>(read: () => V, want: V, what: string): Promise<void> {
  const end = Date.now() + 5000;
  while (JSON.stringify(read()) !== JSON.stringify(want)) {
    if (Date.now() > end) assert.fail(`${what}: still ${JSON.stringify(read())}, expected ${JSON.stringify(want)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function sh(script: string, envInput?: Buffer): LauncherProcess {
  return LauncherProcess.spawn('/bin/sh', ['-c', script], log, {}, envInput);
}

test('200 short-lived launchers: right exit codes and status lines, no zombie, no fd left in the worker', T, async () => {
  const fdsBefore = openFds();
  const childrenBefore = children();
  for (let batch = 0; batch < 10; batch++) {
    const runs = Array.from({ length: 20 }, (_, i) => {
      const n = batch * 20 + i;
      return { n, launcher: sh(`echo pid ${n} >&3; echo out ${n}; exit ${n % 7}`) };
    });
    for (const { n, launcher } of runs) {
      assert.deepEqual(await launcher.nextStatusLine(5000), { line: `pid ${n}` });
      assert.deepEqual(await launcher.exited, { code: n % 7, signal: null });
      await launcher.output.whenEnded();
    }
  }
  await settles(children, childrenBefore, 'children of the worker');
  await settles(openFds, fdsBefore, 'open fds of the worker');
});

test('exit 3 and SIGKILL are reported as such, and kill() after the exit does nothing', T, async () => {
  const three = sh('exit 3');
  assert.deepEqual(await three.exited, { code: 3, signal: null });
  assert.deepEqual(three.exitStatus, { code: 3, signal: null });
  three.kill();
  const sleeper = LauncherProcess.spawn('/bin/sleep', ['60'], log, {});
  assert.ok(sleeper.hostPid! > 0);
  assert.equal(sleeper.exitStatus, undefined);
  sleeper.kill();
  assert.deepEqual(await sleeper.exited, { code: null, signal: 'SIGKILL' });
  const selfKilled = sh('kill -TERM $$');
  assert.deepEqual(await selfKilled.exited, { code: null, signal: 'SIGTERM' });
});

test('the child gets /dev/null, its pipes on fds 1 to 4 and nothing else, an empty environment, default signals', T, async () => {
  const lines: string[] = [];
  const capture = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s).msg) }) as unknown as Logger;
  // The shell's fds ($$: ls would list its own directory fd too); the env input arrives on fd 4.
  const script = 'ls -l /proc/$$/fd; wc -c < /proc/$$/environ; grep -E "^Sig(Blk|Ign)" /proc/$$/status; echo "input $(cat <&4)"';
  const launcher = LauncherProcess.spawn('/bin/sh', ['-c', script], capture, {}, Buffer.from('A=1'));
  assert.deepEqual(await launcher.exited, { code: 0, signal: null });
  await launcher.output.whenEnded();
  const fds = lines.flatMap((l) => / (\d+) -> (.*)$/.exec(l)?.slice(1, 3) ?? []);
  assert.deepEqual(fds, ['0', '/dev/null', '1', fds[3], '2', fds[5], '3', fds[7], '4', fds[9]]);
  for (const target of [fds[3], fds[5], fds[7], fds[9]]) assert.match(target, /^pipe:\[\d+\]$/);
  assert.ok(lines.includes('0'), `environment not empty: ${lines.join(' | ')}`);
  assert.ok(lines.includes('SigBlk:\t0000000000000000'), lines.join(' | '));
  assert.ok(lines.includes('SigIgn:\t0000000000000000'), `the worker's ignored SIGPIPE leaked: ${lines.join(' | ')}`);
  assert.ok(lines.includes('input A=1'));
});

test('a missing or non-executable launcher is a spawnError that says why, and leaves no fd', T, async () => {
  const fdsBefore = openFds();
  const notExecutable = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ol-lp-')), 'ol-launcher');
  fs.writeFileSync(notExecutable, '#!/bin/sh\n', { mode: 0o644 });
  for (const [file, code, text] of [['/nonexistent/ol-launcher', 'ENOENT', 'No such file or directory'], [notExecutable, 'EACCES', 'Permission denied']]) {
    const launcher = LauncherProcess.spawn(file, ['--status-fd', '3'], log, {}, Buffer.from('A=1'));
    const exit = await launcher.exited;
    assert.equal(exit.code, null);
    assert.equal((exit.spawnError as NodeJS.ErrnoException).code, code);
    assert.equal(exit.spawnError!.message, `spawn ${file}: ${text}`);
    assert.equal(launcher.hostPid, undefined);
    assert.deepEqual(await launcher.nextStatusLine(1000), { eof: true });
    await launcher.output.whenEnded();
    launcher.kill();
  }
  fs.rmSync(path.dirname(notExecutable), { recursive: true });
  await settles(openFds, fdsBefore, 'open fds of the worker');
});

test('--die-with-parent: a launcher spawned through the addon dies with the worker process that spawned it', T, async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ol-lp-root-'));
  const args = ['--die-with-parent', '--root', root, '--ro-bind', '/usr', '/usr', '--ro-bind-try', '/lib', '/lib', '--ro-bind-try', '/lib64', '/lib64', '--ro-bind-try', '/bin', '/bin', '--proc', '/proc', '--status-fd', '3', '--', '/bin/sleep', '600'];
  // A stand-in worker: spawns the launcher as LauncherProcess.spawn does, from its main thread, after
  // libuv's threadpool ran (a launcher parented to a pool thread would die early or never).
  const worker = `
    const { LauncherProcess } = require(${JSON.stringify(path.resolve(__dirname, '../launcher-process'))});
    const log = require('pino')({ level: 'silent' });
    require('node:fs').readFile('/etc/hostname', async () => {
      const l = LauncherProcess.spawn(${JSON.stringify(LAUNCHER)}, ${JSON.stringify(args)}, log, {});
      const line = await l.nextStatusLine(10000);
      console.log(JSON.stringify({ launcher: l.hostPid, line }));
    });`;
  const parent = cp.spawn(process.execPath, ['-e', worker], { stdio: ['ignore', 'pipe', 'inherit'], cwd: path.resolve(__dirname, '../../../..') });
  const [first] = (await new Promise<Buffer>((resolve) => parent.stdout!.once('data', resolve))).toString().split('\n');
  const { launcher, line } = JSON.parse(first) as { launcher: number; line: { line: string } };
  const init = Number(/^pid (\d+)$/.exec(line.line)![1]);
  await new Promise((r) => setTimeout(r, 300)); // the pool threads are idle by now: a thread exit must not kill it
  assert.ok(fs.existsSync(`/proc/${launcher}`), 'the launcher died while its worker still ran');
  parent.kill('SIGKILL');
  const gone = (pid: number) => () => !fs.existsSync(`/proc/${pid}`) || /\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  await settles(gone(launcher), true, `launcher ${launcher} gone`);
  await settles(gone(init), true, `sandbox init ${init} gone`);
  fs.rmdirSync(root);
});
