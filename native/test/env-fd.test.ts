// ol-launcher --env-fd: variables that must not be in the process list (secrets) come on an fd, not on argv.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as cp from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';

const LAUNCHER = path.resolve(__dirname, '../../../native/build/ol-launcher');
const T = { timeout: 30_000 };
const SECRET = `envfd-${randomBytes(12).toString('hex')}`;
/** Enough of the host to run python3. */
const BASE = ['--ro-bind', '/usr', '/usr', '--ro-bind-try', '/lib', '/lib', '--ro-bind-try', '/lib64', '/lib64', '--ro-bind-try', '/bin', '/bin', '--proc', '/proc', '--dev', '/dev'];
/** Prints the environment it was started with (python's own additions aside) and its open fds (not the one listing them) as JSON, then waits for stdin to close. */
const HOLD = ['/usr/bin/python3', '-c', 'import json, os, sys\nenv = open("/proc/self/environ", "rb").read().decode().split("\\0")[:-1]\nprint(json.dumps([env, sorted(f for f in os.listdir("/proc/self/fd") if os.path.exists(f"/proc/self/fd/{f}"))]), flush=True)\nsys.stdin.read()'];

interface Run {
  child: cp.ChildProcess;
  stdout: Promise<string>;
  done: Promise<{ code: number | null; stderr: string }>;
}

/** The launcher with the status pipe on fd 3 and `input` written to fd 4 (then closed). */
function launch(extra: string[], input: Buffer): Run {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ol-envfd-'));
  const child = cp.spawn(LAUNCHER, ['--root', root, ...BASE, '--status-fd', '3', ...extra, '--', ...HOLD], { stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'], env: {} });
  const env = child.stdio[4] as Writable;
  env.on('error', () => undefined); // EPIPE when the launcher refused its arguments before reading
  env.end(input, () => env.destroy());
  (child.stdio[3] as Readable).resume();
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  const done = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on('close', (code) => {
      fs.rmdirSync(root);
      resolve({ code, stderr });
    }),
  );
  const stdout = new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(d.toString()));
    void done.then((out) => reject(new Error(`the launcher exited (${out.code}) without output: ${out.stderr}`)));
  });
  stdout.catch(() => undefined); // awaited only by the tests that expect output
  return { child, stdout, done };
}

test('variables from --env-fd reach the program, win over --setenv, and are in no command line or launcher environment', T, async (t) => {
  const input = Buffer.from(`A=from-fd\0TOKEN=${SECRET}\0SPACED=x y=z\0`);
  const run = launch(['--setenv', 'A', 'from-argv', '--setenv', 'B', '2', '--env-fd', '4'], input);
  const stopped = () => run.child.stdin!.end();
  const [env, fds] = JSON.parse(await run.stdout);
  t.after(stopped);
  assert.deepEqual(env, ['A=from-fd', 'B=2', `TOKEN=${SECRET}`, 'SPACED=x y=z']);
  assert.deepEqual(fds, ['0', '1', '2', '3'], 'the env fd is closed before the program runs (3 is the status fd)');
  // While the program runs: the launcher (L) and the sandbox init (C, its child) show the value nowhere the host can list.
  const launcher = run.child.pid!;
  const init = Number(fs.readFileSync(`/proc/${launcher}/task/${launcher}/children`, 'utf8').trim());
  for (const pid of [launcher, init]) {
    for (const file of ['cmdline', 'environ']) assert.equal(fs.readFileSync(`/proc/${pid}/${file}`).includes(SECRET), false, `/proc/${pid}/${file}`);
  }
  const everyCmdline = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`);
    } catch {
      return Buffer.alloc(0); // exited meanwhile
    }
  });
  assert.equal(everyCmdline.some((c) => c.includes(SECRET)), false, 'no process on the host has the value in its command line');
  stopped();
  assert.equal((await run.done).code, 0);
});

test('a malformed --env-fd input fails before the sandbox starts, and the error never quotes an entry', T, async () => {
  const cases: [Buffer, RegExp][] = [
    [Buffer.from(`A=1\0${SECRET}\0`), /ol-launcher: env-fd: entry 2 is not NAME=VALUE/],
    [Buffer.from(`A=1\0=${SECRET}\0`), /ol-launcher: env-fd: entry 2 is not NAME=VALUE/],
    [Buffer.from(`TOKEN=${SECRET}`), /ol-launcher: env-fd: the last entry does not end with a NUL byte/],
  ];
  for (const [input, message] of cases) {
    const out = await launch(['--env-fd', '4'], input).done;
    assert.equal(out.code, 125);
    assert.match(out.stderr, message);
    assert.equal(out.stderr.includes(SECRET.slice(6)), false, `the error quotes the value: ${out.stderr}`);
  }
  const same = await launch(['--env-fd', '3'], Buffer.alloc(0)).done;
  assert.equal(same.code, 125);
  assert.match(same.stderr, /--env-fd and --status-fd must be different fds/);
});
