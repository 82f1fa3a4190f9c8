// The SOCK sandbox backend, for real: the cgroup-v1 and sock plugins booted
// through the core Kernel, real ol-launcher sandboxes running the Python
// runtime, real cgroups. Runs as root on the cgroup v1 host.
import 'reflect-metadata';
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { container } from 'tsyringe';
import { Kernel } from '../../../core/plugin/kernel';
import { Tokens } from '../../../core/di/tokens';
import { workerPaths, type WorkerPaths } from '../../../core/lifecycle/worker-paths';
import { validate } from '../../../core/config/schema-validator';
import { workerConfigSchema, type WorkerConfig } from '../../../core/config/worker-config';
import { SandboxBackendPoint, type Sandbox, type SandboxBackend } from '../../../core/extension-points/sandbox-backend';
import type { LoadedFunction } from '../../../core/functions/function-config';
import type { ResourceLimits } from '../../../core/functions/resource-limits';
import type { InvocationOutcome } from '../../../core/invoke/invocation';
import { launcherArgs } from '../launcher-command';
import { sockConfigSchema, type SockConfig } from '../config';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'olsock-'));
const paths: WorkerPaths = workerPaths(path.join(tmp, 'w'));
let kernel: Kernel;
let backend: SandboxBackend;

before(async () => {
  const config = { plugins: ['cgroup-v1', 'sock'], select: {}, limits: {}, worker: { log_level: 'silent' } } as unknown as WorkerConfig;
  validate(workerConfigSchema, config, 'test config');
  const logger = pino({ level: 'silent' });
  const scope = container.createChildContainer();
  scope.registerInstance(Tokens.WorkerPaths, paths);
  scope.registerInstance(Tokens.WorkerConfig, config);
  scope.registerInstance(Tokens.Logger, logger);
  // A stale sandbox dir from a "crashed worker": start() must remove it.
  fs.mkdirSync(path.join(paths.sandboxes, 'deadbeef0000', 'scratch'), { recursive: true });
  kernel = new Kernel(scope, config, logger);
  await kernel.boot();
  backend = scope.resolve<SandboxBackend>(SandboxBackendPoint.token);
});

after(async () => {
  await kernel?.shutdown();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A function over a fresh code dir (world-readable, as the registry keeps them). */
function fn(code: string, limits: Partial<ResourceLimits> = {}, environment: Record<string, string> = {}): LoadedFunction {
  const dir = fs.mkdtempSync(path.join(tmp, 'fn-'));
  fs.chmodSync(dir, 0o755);
  fs.writeFileSync(path.join(dir, 'f.py'), code);
  return {
    name: path.basename(dir),
    version: '1',
    codeDir: dir,
    config: { entry: 'f.py', handler: 'f', owner: 'test', methods: null, environment, reuseSandbox: true, packages: [], imports: [], limits: {} },
    limits: { memMb: 128, procs: 64, cpuPercent: 100, timeoutMs: 10000, ...limits },
  };
}

async function call(sb: Sandbox, event: unknown): Promise<InvocationOutcome> {
  return sb.invoke({ requestId: randomUUID(), body: Buffer.from(JSON.stringify(event)), method: 'POST' });
}

function okJson(out: InvocationOutcome): any {
  assert.ok(out.ok, `expected success, got ${JSON.stringify(!out.ok && out.failure)}`);
  return JSON.parse(out.body.toString('utf8'));
}

/** The cgroup dir of one v1 controller, from the sandbox's procs files. */
function cgroupDir(sb: Sandbox, controller: string): string {
  const file = sb.cgroup.procsFiles.find((f) => f.split(path.sep).includes(controller));
  assert.ok(file, `no ${controller} cgroup among ${sb.cgroup.procsFiles.join(', ')}`);
  return path.dirname(file);
}

/** The host pid of the sandbox's program (the runtime): the init's only child. */
function programPid(sb: Sandbox): number {
  const children = fs.readFileSync(`/proc/${sb.pid}/task/${sb.pid}/children`, 'utf8').trim().split(/\s+/);
  assert.equal(children.length, 1, `sandbox init has children ${children}`);
  return Number(children[0]);
}

function alive(pid: number): boolean {
  try {
    return !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].startsWith('Z');
  } catch {
    return false;
  }
}

/** After destroy: no process, no cgroup dir, no sandbox dir. */
function assertGone(sb: Sandbox, pids: number[]): void {
  assert.equal(sb.state, 'dead');
  for (const pid of pids) assert.ok(!alive(pid), `process ${pid} of sandbox ${sb.id} still exists`);
  for (const f of sb.cgroup.procsFiles) assert.ok(!fs.existsSync(path.dirname(f)), `cgroup ${path.dirname(f)} still exists`);
  assert.ok(!fs.existsSync(path.join(paths.sandboxes, sb.id)), `sandbox dir of ${sb.id} still exists`);
}

const ECHO = 'def f(event):\n    return event\n';

test('start removed the stale sandbox dir of an earlier worker', () => {
  assert.ok(!fs.existsSync(path.join(paths.sandboxes, 'deadbeef0000')));
});

test('echo round trip, keep-alive over several requests', async () => {
  const sb = await backend.create(fn(ECHO));
  try {
    assert.equal(sb.state, 'running');
    const event = { a: 1, s: 'héllo', list: [1, 2, null] };
    for (let i = 0; i < 3; i++) {
      const out = await call(sb, { ...event, i });
      assert.deepEqual(okJson(out), { ...event, i });
      assert.ok(out.ok && out.contentType.startsWith('application/json'));
    }
  } finally {
    await sb.destroy('test done');
  }
});

test('isolation: namespaces, mounts, read-only code, hidden host paths, user, env, cgroup limits', async () => {
  const probe = `
import errno, os
def f(event):
    mounts = {}
    for line in open('/proc/self/mountinfo'):
        parts = line.split()
        mounts[parts[4]] = parts[5]
    def try_write(p):
        try:
            with open(p, 'w') as fh:
                fh.write('x')
            return 'ok'
        except OSError as e:
            return errno.errorcode[e.errno]
    return {
        'mounts': mounts,
        'handler_write': try_write('/handler/new.txt'),
        'handler_overwrite': try_write('/handler/f.py'),
        'root_write': try_write('/x'),
        'tmp_write': try_write('/tmp/x'),
        'host_write': try_write('/host/x'),
        'visible': {p: os.path.exists(p) for p in ['/root', '/work', '/sys', '/home', '${tmp}']},
        'uid': os.getuid(), 'gid': os.getgid(), 'pid': os.getpid(),
        'hostname': os.uname().nodename,
        'env': dict(os.environ),
        'cwd': os.getcwd(),
    }
`;
  const sb = await backend.create(fn(probe, { memMb: 96, procs: 40 }, { GREETING: 'hi there' }));
  try {
    const r = okJson(await call(sb, null));
    const g = programPid(sb);
    for (const ns of ['mnt', 'pid', 'ipc', 'uts', 'net']) {
      const mine = fs.readlinkSync(`/proc/self/ns/${ns}`);
      assert.notEqual(fs.readlinkSync(`/proc/${sb.pid}/ns/${ns}`), mine, `sandbox init shares the ${ns} namespace`);
      assert.notEqual(fs.readlinkSync(`/proc/${g}/ns/${ns}`), mine, `the program shares the ${ns} namespace`);
    }
    assert.equal(r.pid, 2, 'the runtime is pid 2 under the sandbox init');

    const expected = ['/', '/usr', '/runtime', '/handler', '/host', '/tmp', '/proc', '/dev'];
    const allowed = new Set([...expected, '/etc/ld.so.cache', '/etc/localtime', '/etc/passwd', '/etc/group', '/etc/nsswitch.conf', '/etc/hosts', '/etc/resolv.conf', '/etc/ssl']);
    const mounts = Object.keys(r.mounts);
    for (const m of expected) assert.ok(mounts.includes(m), `${m} is not mounted; mounts: ${mounts.join(' ')}`);
    for (const m of mounts) assert.ok(allowed.has(m) || m.startsWith('/proc/') || m.startsWith('/dev/'), `unexpected mount ${m}`);
    assert.match(r.mounts['/handler'], /(^|,)ro(,|$)/);
    assert.match(r.mounts['/'], /(^|,)ro(,|$)/);
    assert.equal(r.handler_write, 'EROFS');
    assert.equal(r.handler_overwrite, 'EROFS');
    assert.equal(r.root_write, 'EROFS');
    assert.equal(r.tmp_write, 'ok');
    assert.equal(r.host_write, 'ok');
    assert.deepEqual(r.visible, { '/root': false, '/work': false, '/sys': false, '/home': false, [tmp]: false });

    assert.equal(r.uid, 65534);
    assert.equal(r.gid, 65534);
    assert.match(fs.readFileSync(`/proc/${g}/status`, 'utf8'), /^CapEff:\s+0+$/m);
    assert.equal(r.hostname, 'sandbox');
    assert.equal(r.cwd, '/handler');
    assert.deepEqual(r.env, { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/host', LANG: 'C.UTF-8', GREETING: 'hi there' });

    // Both the init and the program are in the sandbox's own cgroups, which hold the limits.
    for (const pid of [sb.pid, g]) {
      const lines = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
      for (const ctrl of ['memory', 'pids']) {
        const line = lines.split('\n').find((l) => l.split(':')[1]?.split(',').includes(ctrl));
        assert.ok(line && line.includes(sb.id), `pid ${pid} ${ctrl} cgroup is ${line}`);
      }
    }
    assert.ok((await sb.cgroup.pids()).includes(g));
    assert.equal(fs.readFileSync(path.join(cgroupDir(sb, 'memory'), 'memory.limit_in_bytes'), 'utf8').trim(), String(96 * 1024 * 1024));
    assert.equal(fs.readFileSync(path.join(cgroupDir(sb, 'pids'), 'pids.max'), 'utf8').trim(), '40');
  } finally {
    await sb.destroy('test done');
  }
});

test('function failures: exception with traceback, load error; the instance keeps serving', async () => {
  const sb = await backend.create(fn('def f(event):\n    if event == "boom":\n        raise ValueError("bad value")\n    return "fine"\n'));
  try {
    const out = await call(sb, 'boom');
    assert.ok(!out.ok);
    assert.equal(out.failure.kind, 'exception');
    assert.equal(out.failure.type, 'ValueError');
    assert.equal(out.failure.message, 'bad value');
    assert.match(out.failure.traceback ?? '', /f\.py.*line 3/s);
    assert.equal(okJson(await call(sb, 'ok')), 'fine');
  } finally {
    await sb.destroy('test done');
  }
  const broken = await backend.create(fn('def f(event) return 1\n'));
  try {
    const out = await call(broken, {});
    assert.ok(!out.ok);
    assert.equal(out.failure.kind, 'load');
    assert.equal(out.failure.type, 'SyntaxError');
    assert.equal(broken.state, 'running');
  } finally {
    await broken.destroy('test done');
  }
});

test('a start failure says what failed and leaves nothing behind', async () => {
  const f = fn(ECHO);
  f.codeDir = path.join(tmp, 'no-such-code-dir');
  const before = fs.readdirSync(paths.sandboxes);
  await assert.rejects(backend.create(f), (e: Error) => {
    assert.match(e.message, /failed to start: the launcher could not set up the sandbox \(exit 125\)/);
    assert.match(e.message, /ol-launcher: .*no-such-code-dir/);
    assert.match(e.message, /check sock\.base_root/);
    return true;
  });
  assert.deepEqual(fs.readdirSync(paths.sandboxes), before);
});

test('a function that exits its process is reported as crashed, with its exit code', async () => {
  const sb = await backend.create(fn('import os, sys\ndef f(event):\n    sys.stderr.write("going away\\n")\n    os._exit(7)\n'));
  const pid = sb.pid;
  const out = await call(sb, {});
  assert.ok(!out.ok);
  assert.equal(out.failure.kind, 'crashed');
  assert.match(out.failure.message, /exited with code 7/);
  assert.match(out.failure.message, /going away/);
  assertGone(sb, [pid]);
});

test('out of memory: kind oom, and the backend still creates working sandboxes', async () => {
  const hog = fn('def f(event):\n    data = b"\\x01" * (400 << 20)\n    return len(data)\n', { memMb: 64 });
  const sb = await backend.create(hog);
  const pid = sb.pid;
  const out = await call(sb, {});
  assert.ok(!out.ok, 'allocating 400 MiB under a 64 MiB limit succeeded');
  assert.equal(out.failure.kind, 'oom');
  assert.match(out.failure.message, /memory limit of 64 MiB; raise limits\.mem_mb/);
  assertGone(sb, [pid]);

  const next = await backend.create(fn(ECHO, { memMb: 64 }));
  try {
    assert.deepEqual(okJson(await call(next, { again: true })), { again: true });
  } finally {
    await next.destroy('test done');
  }
});

test('a fork bomb hits the process limit, is reported, and the host is fine', async () => {
  const bomb = fn('import os\ndef f(event):\n    while True:\n        os.fork()\n', { procs: 32, timeoutMs: 20000 });
  const sb = await backend.create(bomb);
  const pid = sb.pid;
  const out = await call(sb, {});
  assert.ok(!out.ok);
  assert.ok(
    out.failure.kind === 'pids' || (out.failure.kind === 'exception' && /process limit of 32/.test(out.failure.message)),
    `not reported as hitting the process limit: ${JSON.stringify(out.failure)}`,
  );
  // The instance had stray copies of itself: it is retired.
  assertGone(sb, [pid]);
  const next = await backend.create(fn(ECHO));
  try {
    assert.equal(okJson(await call(next, 1)), 1);
  } finally {
    await next.destroy('test done');
  }
});

test('an exception caused by the process limit carries a hint', async () => {
  const code = `
import os, time
def f(event):
    while True:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
`;
  const sb = await backend.create(fn(code, { procs: 16 }));
  const out = await call(sb, {});
  assert.ok(!out.ok);
  assert.equal(out.failure.kind, 'exception');
  assert.match(out.failure.type ?? '', /Error/);
  assert.match(out.failure.message, /process limit of 16/);
  assertGone(sb, [sb.pid]);
});

test('timeout: kind timeout, and the sandbox is gone', async () => {
  const sb = await backend.create(fn('import time\ndef f(event):\n    time.sleep(30)\n', { timeoutMs: 500 }));
  const pids = [sb.pid, programPid(sb)];
  const started = Date.now();
  const out = await call(sb, {});
  assert.ok(Date.now() - started < 5000, 'the timeout was not enforced promptly');
  assert.ok(!out.ok);
  assert.equal(out.failure.kind, 'timeout');
  assert.match(out.failure.message, /exceeded its timeout of 500 ms; raise limits\.timeout_ms/);
  assertGone(sb, pids);
});

test('pause freezes the instance; after unpause it serves again', async () => {
  const sb = await backend.create(fn(ECHO));
  try {
    await sb.pause();
    assert.equal(sb.state, 'paused');
    assert.equal(fs.readFileSync(path.join(cgroupDir(sb, 'freezer'), 'freezer.state'), 'utf8').trim(), 'FROZEN');
    await assert.rejects(call(sb, 1), /paused/);
    await sb.unpause();
    assert.equal(sb.state, 'running');
    assert.equal(okJson(await call(sb, 'after')), 'after');
  } finally {
    await sb.destroy('test done');
  }
});

test('destroy of a paused sandbox leaves no process, cgroup or directory; it is idempotent', async () => {
  const sb = await backend.create(fn(ECHO));
  const pids = [sb.pid, programPid(sb)];
  await sb.pause();
  await Promise.all([sb.destroy('first'), sb.destroy('second')]);
  await sb.destroy('third');
  assertGone(sb, pids);
  const out = await call(sb, 1);
  assert.ok(!out.ok && out.failure.kind === 'crashed' && /destroyed before this request \(first\)/.test(out.failure.message));
});

test('an instance that exits while idle is destroyed on its own', async () => {
  const sb = await backend.create(fn('import os, threading\ndef f(event):\n    threading.Timer(0.2, os._exit, [3]).start()\n    return "bye"\n'));
  const pids = [sb.pid, programPid(sb)];
  assert.equal(okJson(await call(sb, {})), 'bye');
  // The launcher's exit is an event for the backend; the test can only look.
  for (let i = 0; i < 500 && fs.existsSync(path.join(paths.sandboxes, sb.id)); i++) await new Promise((r) => setTimeout(r, 10));
  assertGone(sb, pids);
  const out = await call(sb, 1);
  assert.ok(!out.ok && /exited while idle \(exit code 3\)/.test(out.failure.message), JSON.stringify(out));
});

test('launcher command: base_root instead of host binds, host network, function environment', () => {
  const config = {} as SockConfig;
  validate(sockConfigSchema, config, 'sock');
  const f = fn(ECHO, {}, { HOME: '/tmp', X: 'a b' });
  const plan = { fn: f, rootDir: '/r', scratchDir: '/s', runtimeDir: '/rt', cgroupProcsFiles: ['/cg/a/cgroup.procs', '/cg/b/cgroup.procs'] };
  const pairs = (args: string[], opt: string, n: number) => args.flatMap((a, i) => (a === opt ? [args.slice(i + 1, i + 1 + n).join(' ')] : []));

  const host = launcherArgs({ ...plan, config });
  assert.ok(host.includes('--unshare-net'));
  assert.deepEqual(pairs(host, '--cgroup-procs', 1), ['/cg/a/cgroup.procs', '/cg/b/cgroup.procs']);
  assert.ok(pairs(host, '--ro-bind-try', 2).includes('/usr /usr'));
  assert.deepEqual(pairs(host, '--setenv', 2), ['PATH /usr/local/bin:/usr/bin:/bin', 'HOME /tmp', 'LANG C.UTF-8', 'X a b']);
  assert.deepEqual(pairs(host, '--tmpfs', 2), [`/tmp ${64 * 1024 * 1024}`]);
  assert.deepEqual(host.slice(host.indexOf('--') + 1, host.indexOf('--') + 5), ['/usr/bin/python3', '-u', '-B', '/runtime/ol_serve.py']);

  const based = launcherArgs({ ...plan, config: { ...config, base_root: '/srv/base', network: 'host' } });
  assert.ok(!based.includes('--unshare-net'));
  assert.deepEqual(pairs(based, '--ro-bind-try', 2), ['usr', 'lib', 'lib64', 'bin', 'sbin', 'etc'].map((e) => `/srv/base/${e} /${e}`));

  assert.throws(() => launcherArgs({ ...plan, config, fn: fn(ECHO, {}, { 'BAD-NAME': '1' }) }), /environment variable name "BAD-NAME" is invalid/);
  assert.throws(() => validate(sockConfigSchema, { netwrok: 'host' }, 'sock'), /netwrok: unknown key/);
});

test('kernel shutdown destroys every live sandbox', async () => {
  const a = await backend.create(fn(ECHO));
  const b = await backend.create(fn(ECHO));
  const pids = [a.pid, b.pid, programPid(a), programPid(b)];
  await kernel.shutdown();
  assertGone(a, pids);
  assertGone(b, pids);
  assert.deepEqual(fs.readdirSync(paths.sandboxes), []);
});
