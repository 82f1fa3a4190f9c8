// Tests of native/build/ol-launcher, run for real as root (see native/README.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as cp from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as stream from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';

const LAUNCHER = path.resolve(__dirname, '../../../native/build/ol-launcher');
const PY = '/usr/bin/python3'; // Debian's, not the pyenv shim on PATH
const T = { timeout: 30_000 };

// What every sandbox gets: enough of /usr to run python3 and /bin/sh.
const BASE = [
  '--ro-bind', '/usr', '/usr',
  '--ro-bind-try', '/lib', '/lib',
  '--ro-bind-try', '/lib64', '/lib64',
  '--ro-bind-try', '/bin', '/bin',
  '--proc', '/proc',
  '--dev', '/dev',
  '--tmpfs', '/tmp', '0',
];

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  status: string;
}

function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

function exitCode(code: number | null, signal: NodeJS.Signals | null): number {
  return code ?? 128 + os.constants.signals[signal!];
}

/** One launcher run: root dir, output capture, the status fd on fd 3. */
class Launch {
  readonly child: cp.ChildProcess;
  readonly root = tempDir('ol-launcher-root-');
  stdout = '';
  stderr = '';
  status = '';
  readonly done: Promise<Outcome>;

  constructor(extra: string[], program: string[], extraFds = 0) {
    const args = ['--root', this.root, ...BASE, ...extra, '--status-fd', '3', '--', ...program];
    const stdio: cp.StdioOptions = ['pipe', 'pipe', 'pipe', 'pipe', ...Array<'pipe'>(extraFds).fill('pipe')];
    this.child = cp.spawn(LAUNCHER, args, { stdio });
    this.child.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    (this.child.stdio[3] as stream.Readable).on('data', (d: Buffer) => (this.status += d.toString()));
    this.done = new Promise((resolve, reject) => {
      this.child.on('error', reject);
      this.child.on('close', (code, signal) => {
        fs.rmdirSync(this.root); // the tmpfs lived in the sandbox's mount namespace only
        resolve({ code: exitCode(code, signal), stdout: this.stdout, stderr: this.stderr, status: this.status });
      });
    });
  }

  /** Host pid of the sandbox init, from the status fd's first line. */
  async initPid(): Promise<number> {
    return until(() => /^pid (\d+)\n/.exec(this.status)?.[1], 'pid line on the status fd').then(Number);
  }

  async stdoutHas(marker: string): Promise<void> {
    await until(() => this.stdout.includes(marker) || undefined, `"${marker}" on stdout (stderr: ${this.stderr})`);
  }

  /** Let a program blocked on stdin finish. */
  async finish(): Promise<Outcome> {
    this.child.stdin!.end();
    return this.done;
  }
}

/** Run to completion with stdin closed. */
async function run(extra: string[], program: string[]): Promise<Outcome> {
  const l = new Launch(extra, program);
  return l.finish();
}

function py(code: string): string[] {
  return [PY, '-c', code];
}

/** Python that prints JSON of `expr`, then "ready", then waits for stdin to close. */
function pyHold(setup: string, expr: string): string[] {
  return py(`import json, os, sys\n${setup}\nprint(json.dumps(${expr}))\nprint("ready", flush=True)\nsys.stdin.read()`);
}

async function until<V>(probe: () => V | undefined, what: string, ms = 10_000): Promise<V> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(5);
  }
}

function stat(pid: number): { state: string; ppid: number } | undefined {
  try {
    const rest = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop()!.split(' ');
    return { state: rest[0], ppid: Number(rest[1]) };
  } catch {
    return undefined;
  }
}

function childrenOf(pid: number): number[] {
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((p) => stat(p)?.ppid === pid);
}

/** Host pid of the program G, the init's only child. */
async function programPid(init: number): Promise<number> {
  return until(() => childrenOf(init)[0], 'the program process');
}

function statusField(pid: number | 'self', field: string): string {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(field + ':'));
  return line!.split(':')[1].trim();
}

function firstJson(out: string): any {
  return JSON.parse(out.split('\n')[0]);
}

const byNumber = (a: number, b: number): number => a - b;

const CAP_FIELDS = ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb'];

test('the sandbox has its own mount, pid, ipc and uts namespaces and shares net by default', T, async () => {
  const l = new Launch([], pyHold('', '0'));
  const init = await l.initPid();
  await l.stdoutHas('ready');
  const program = await programPid(init);
  for (const pid of [init, program]) {
    for (const ns of ['mnt', 'pid', 'ipc', 'uts']) {
      assert.notEqual(fs.readlinkSync(`/proc/${pid}/ns/${ns}`), fs.readlinkSync(`/proc/self/ns/${ns}`), ns);
    }
    assert.equal(fs.readlinkSync(`/proc/${pid}/ns/net`), fs.readlinkSync('/proc/self/ns/net'));
  }
  assert.equal((await l.finish()).code, 0);
});

test('--unshare-net gives a new network namespace with only lo, and lo is up', T, async () => {
  const code = `import socket
srv = socket.create_server(("127.0.0.1", 0))
cli = socket.create_connection(srv.getsockname())
ifs = [name for _, name in socket.if_nameindex()]`;
  const l = new Launch(['--unshare-net'], pyHold(code, 'ifs'));
  const init = await l.initPid();
  await l.stdoutHas('ready');
  assert.notEqual(fs.readlinkSync(`/proc/${init}/ns/net`), fs.readlinkSync('/proc/self/ns/net'));
  const out = await l.finish();
  assert.equal(out.code, 0, out.stderr);
  assert.deepEqual(firstJson(out.stdout), ['lo']);
});

test('the init is pid 1 of the new pid namespace and the program sees itself as pid 2', T, async () => {
  const l = new Launch([], pyHold('', '[os.getpid(), os.getppid(), sorted(int(p) for p in os.listdir("/proc") if p.isdigit())]'));
  const init = await l.initPid();
  await l.stdoutHas('ready');
  assert.deepEqual(statusField(init, 'NSpid').split(/\s+/), [String(init), '1']);
  const program = await programPid(init);
  assert.deepEqual(statusField(program, 'NSpid').split(/\s+/), [String(program), '2']);
  const out = await l.finish();
  assert.deepEqual(firstJson(out.stdout), [2, 1, [1, 2]]);
});

test('the root holds only the requested mounts; the root itself is a read-only tmpfs', T, async () => {
  const scratch = tempDir('ol-launcher-scratch-');
  const extra = ['--ro-bind', '/etc/ld.so.cache', '/etc/ld.so.cache', '--bind', scratch, '/host', '--ro-bind-try', '/nonexistent', '/nx'];
  const code = `import json, os
mounts = [l.split() for l in open("/proc/self/mountinfo")]
print(json.dumps([[m[4], m[5], m[m.index("-") + 1]] for m in mounts]))
print(json.dumps(sorted(os.listdir("/"))))
print(json.dumps(sorted(os.listdir("/dev"))))
print(json.dumps([os.readlink(p) if os.path.islink(p) else None for p in ["/bin", "/lib", "/lib64"]]))`;
  const out = await run(extra, py(code));
  fs.rmdirSync(scratch);
  assert.equal(out.code, 0, out.stderr);
  const [mounts, rootEntries, devEntries, links] = out.stdout.trim().split('\n').map((l) => JSON.parse(l));

  const byPoint = new Map<string, [string, string]>(mounts.map((m: string[]) => [m[0], [m[1], m[2]]]));
  assert.equal(byPoint.get('/')![1], 'tmpfs');
  assert.match(byPoint.get('/')![0], /^ro,/);
  const devNodes = ['null', 'zero', 'full', 'random', 'urandom', 'tty'].map((d) => `/dev/${d}`);
  const requested = ['/', '/usr', '/etc/ld.so.cache', '/host', '/tmp', '/proc', '/dev', '/dev/shm', ...devNodes];
  for (const p of requested) assert.ok(byPoint.has(p), `${p} is mounted`);
  // Besides those: read-only covers inside /proc, and submounts the host has under /usr.
  const hostUsrSubmounts = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p) => p?.startsWith('/usr/'));
  const allowed = new Set([...requested, ...['sys', 'sysrq-trigger', 'irq', 'bus'].map((p) => `/proc/${p}`), ...hostUsrSubmounts]);
  for (const p of byPoint.keys()) assert.ok(allowed.has(p), `unexpected mount ${p}`);
  for (const p of ['/usr', '/etc/ld.so.cache', ...devNodes]) assert.match(byPoint.get(p)![0], /^ro,/, p);
  for (const p of ['/host', '/tmp', '/dev/shm']) assert.match(byPoint.get(p)![0], /^rw,/, p);

  const expectRoot = ['bin', 'dev', 'etc', 'host', 'lib', 'proc', 'tmp', 'usr'];
  if (fs.existsSync('/lib64')) expectRoot.push('lib64');
  assert.deepEqual(rootEntries, expectRoot.sort());
  assert.deepEqual(devEntries, ['fd', 'full', 'null', 'random', 'shm', 'stderr', 'stdin', 'stdout', 'tty', 'urandom', 'zero']);
  // Symlink sources are recreated as the same symlinks (merged-usr /bin -> usr/bin).
  const hostLinks = ['/bin', '/lib', '/lib64'].map((p) => (fs.existsSync(p) && fs.lstatSync(p).isSymbolicLink() ? fs.readlinkSync(p) : null));
  for (let i = 0; i < 3; i++) if (hostLinks[i] !== null) assert.equal(links[i], hostLinks[i]);
});

test('read-only binds, the root and /dev refuse writes with EROFS; tmpfs and --bind accept them', T, async () => {
  const scratch = tempDir('ol-launcher-scratch-');
  const code = `import errno, json, os
def attempt(f):
    try:
        f()
        return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]
def write(p):
    return lambda: open(p, "w").write("x")
r = {
  "usr": attempt(write("/usr/ol-launcher-test")),
  "file": attempt(write("/etc/ld.so.cache")),
  "root": attempt(lambda: os.mkdir("/newdir")),
  "dev": attempt(write("/dev/newfile")),
  "chmod-dev-null": attempt(lambda: os.chmod("/dev/null", 0)),
  "sysctl": attempt(write("/proc/sys/kernel/hostname")),
  "dev-null": attempt(write("/dev/null")),
  "tmp": attempt(write("/tmp/f")),
  "shm": attempt(write("/dev/shm/f")),
  "host": attempt(write("/host/out")),
}
print(json.dumps(r))`;
  const out = await run(['--ro-bind', '/etc/ld.so.cache', '/etc/ld.so.cache', '--bind', scratch, '/host'], py(code));
  const written = fs.readFileSync(path.join(scratch, 'out'), 'utf8');
  fs.rmSync(scratch, { recursive: true });
  assert.equal(out.code, 0, out.stderr);
  assert.deepEqual(firstJson(out.stdout), {
    usr: 'EROFS', file: 'EROFS', root: 'EROFS', dev: 'EROFS', 'chmod-dev-null': 'EROFS', sysctl: 'EROFS',
    'dev-null': 'ok', tmp: 'ok', shm: 'ok', host: 'ok',
  });
  assert.equal(written, 'x');
  assert.equal(fs.existsSync('/usr/ol-launcher-test'), false);
});

test('host paths outside the binds are invisible', T, async () => {
  const paths = ['/root', '/work', '/home', '/var', '/etc/passwd', '/sys', LAUNCHER, path.dirname(LAUNCHER)];
  for (const p of paths) assert.ok(fs.existsSync(p) || ['/home', '/var'].includes(p), `${p} exists on the host`);
  const out = await run([], py(`import json, os; print(json.dumps([os.path.exists(p) for p in ${JSON.stringify(paths)}]))`));
  assert.equal(out.code, 0, out.stderr);
  assert.deepEqual(firstJson(out.stdout), paths.map(() => false));
});

test('the environment is exactly what --setenv gave', T, async () => {
  let out = await run(['--setenv', 'A', '1', '--setenv', 'B', 'x y=z', '--setenv', 'A', '2', '--setenv', 'EMPTY', ''], ['/usr/bin/env']);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, 'A=2\nB=x y=z\nEMPTY=\n');
  out = await run([], ['/usr/bin/env']);
  assert.equal(out.stdout, '');
});

test('the program and the init have no capabilities and no_new_privs', T, async () => {
  const fields = [...CAP_FIELDS, 'NoNewPrivs'];
  const l = new Launch([], pyHold('', `{l.split(":")[0]: l.split()[1] for l in open("/proc/self/status") if l.split(":")[0] in ${JSON.stringify(fields)}}`));
  const init = await l.initPid();
  await l.stdoutHas('ready');
  const zero = '0000000000000000';
  const expected = Object.fromEntries([...CAP_FIELDS.map((f) => [f, zero]), ['NoNewPrivs', '1']]);
  // The init drops its own privileges right after forking the program.
  await until(() => (statusField(init, 'CapBnd') === zero || undefined), 'the init to drop capabilities');
  for (const f of fields) assert.equal(statusField(init, f), expected[f], `init ${f}`);
  const out = await l.finish();
  assert.equal(out.code, 0, out.stderr);
  assert.deepEqual(firstJson(out.stdout), expected);
});

test('--cgroup-procs puts the launcher, the init and the program in the cgroups', T, async () => {
  const name = `ol-launcher-test-${process.pid}`;
  const groups = ['pids', 'memory'].map((c) => path.join('/sys/fs/cgroup', c, name));
  for (const g of groups) fs.mkdirSync(g);
  try {
    const args = groups.flatMap((g) => ['--cgroup-procs', path.join(g, 'cgroup.procs')]);
    const l = new Launch(args, pyHold('', 'open("/proc/self/cgroup").read()'));
    const init = await l.initPid();
    await l.stdoutHas('ready');
    const program = await programPid(init);
    for (const pid of [l.child.pid!, init, program]) {
      const cg = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
      assert.match(cg, new RegExp(`:pids:/${name}\n`), `pid ${pid}`);
      assert.match(cg, new RegExp(`:memory:/${name}\n`), `pid ${pid}`);
    }
    const procs = fs.readFileSync(path.join(groups[0], 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    assert.deepEqual(procs.sort(byNumber), [l.child.pid!, init, program].sort(byNumber));
    const out = await l.finish();
    assert.equal(out.code, 0, out.stderr);
    assert.match(firstJson(out.stdout), new RegExp(`:pids:/${name}\n`));
  } finally {
    for (const g of groups) fs.rmdirSync(g);
  }
});

test('only fds 0, 1, 2 and the status fd reach the program; it can write status lines', T, async () => {
  const code = `def is_open(fd):
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False
os.write(3, b"hello\\n")`;
  const l = new Launch([], pyHold(code, '[fd for fd in range(1024) if is_open(fd)]'), 3);
  const init = await l.initPid();
  await l.stdoutHas('ready');
  const program = await programPid(init);
  assert.deepEqual(fs.readdirSync(`/proc/${program}/fd`).map(Number).sort(byNumber), [0, 1, 2, 3]);
  await until(() => (fs.readdirSync(`/proc/${init}/fd`).length === 3 || undefined), 'the init to close its fds');
  assert.deepEqual(fs.readdirSync(`/proc/${init}/fd`).map(Number).sort(byNumber), [0, 1, 2]);
  const out = await l.finish();
  assert.deepEqual(firstJson(out.stdout), [0, 1, 2, 3]);
  assert.equal(out.status, `pid ${init}\nhello\n`);
});

test('exit codes and deaths by signal propagate (128 + signal)', T, async () => {
  const cases: [string, number][] = [['exit 0', 0], ['exit 7', 7], ['exit 255', 255], ['kill -TERM $$', 143], ['kill -KILL $$', 137], ['kill -USR1 $$', 138]];
  for (const [script, code] of cases) {
    const out = await run([], ['/bin/sh', '-c', script]);
    assert.equal(out.code, code, script);
  }
});

test('SIGTERM, SIGINT and SIGHUP sent to the launcher reach the program', T, async () => {
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    // sigwaitinfo on a blocked signal: a Python-level handler could miss a
    // signal landing just before a blocking read.
    const l = new Launch([], py(`import os, signal
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.${sig}])
print("ready", flush=True)
s = signal.sigwaitinfo([signal.${sig}]).si_signo
print("got", s, flush=True)
os._exit(40 + s)`));
    await l.stdoutHas('ready');
    l.child.kill(sig);
    const out = await l.done;
    const n = os.constants.signals[sig];
    assert.equal(out.code, 40 + n, `${sig}: ${out.stdout} ${out.stderr}`);
    assert.match(out.stdout, new RegExp(`got ${n}\n`));
  }
  // Without a handler the program dies of the signal: 128 + 15.
  const l = new Launch([], pyHold('', '0'));
  await l.stdoutHas('ready');
  l.child.kill('SIGTERM');
  assert.equal((await l.done).code, 143);
});

test('the init reaps orphans re-parented to it', T, async () => {
  const code = `import os, time
for _ in range(30):
    if os.fork() == 0:
        if os.fork() == 0:
            os._exit(0)
        os._exit(0)
for _ in range(30):
    os.wait()
def zombies():
    z = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if open(f"/proc/{p}/stat").read().rsplit(") ", 1)[1].split()[0] == "Z":
                    z.append(p)
            except OSError:
                pass
    return z
def pids():
    return sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
# Under load a grandchild may still be exiting: wait for it too, not only for zombies.
deadline = time.monotonic() + 10
while (zombies() or pids() != [1, 2]) and time.monotonic() < deadline:
    time.sleep(0.01)
print(len(zombies()), pids())`;
  const out = await run([], py(code));
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, '0 [1, 2]\n');
});

test('--seccomp installs the filter last: a blocked syscall fails, a blocked execve gives 126', T, async () => {
  const arch: Record<string, { audit: number; getpriority: number; execve: number }> = {
    x64: { audit: 0xc000003e, getpriority: 140, execve: 59 },
    arm64: { audit: 0xc00000b7, getpriority: 141, execve: 221 },
  };
  const a = arch[process.arch];
  assert.ok(a, `no syscall numbers for ${process.arch} in this test`);
  const EOPNOTSUPP = 95;
  // struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; }: deny one syscall with an errno.
  const filter = (nr: number): Buffer => {
    const insns: [number, number, number, number][] = [
      [0x20, 0, 0, 4], //                      ld  [4]          arch
      [0x15, 0, 3, a.audit], //               jeq ARCH, 0, allow
      [0x20, 0, 0, 0], //                      ld  [0]          syscall nr
      [0x15, 0, 1, nr], //                     jeq NR, 0, allow
      [0x06, 0, 0, 0x00050000 | EOPNOTSUPP], // ret ERRNO(EOPNOTSUPP)
      [0x06, 0, 0, 0x7fff0000], //             ret ALLOW
    ];
    const b = Buffer.alloc(insns.length * 8);
    const le = os.endianness() === 'LE';
    insns.forEach(([code, jt, jf, k], i) => {
      le ? b.writeUInt16LE(code, i * 8) : b.writeUInt16BE(code, i * 8);
      b.writeUInt8(jt, i * 8 + 2);
      b.writeUInt8(jf, i * 8 + 3);
      le ? b.writeUInt32LE(k, i * 8 + 4) : b.writeUInt32BE(k, i * 8 + 4);
    });
    return b;
  };
  const dir = tempDir('ol-launcher-seccomp-');
  try {
    fs.writeFileSync(path.join(dir, 'getpriority.bpf'), filter(a.getpriority));
    fs.writeFileSync(path.join(dir, 'execve.bpf'), filter(a.execve));
    fs.writeFileSync(path.join(dir, 'bad.bpf'), Buffer.alloc(7));
    const code = `import json, os
try:
    os.getpriority(os.PRIO_PROCESS, 0)
    r = "ok"
except OSError as e:
    r = e.errno
print(json.dumps([r, [l.split()[1] for l in open("/proc/self/status") if l.startswith("Seccomp:")]]))`;
    let out = await run(['--seccomp', path.join(dir, 'getpriority.bpf')], py(code));
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(firstJson(out.stdout), [EOPNOTSUPP, ['2']]);
    out = await run(['--seccomp', path.join(dir, 'execve.bpf')], ['/bin/sh', '-c', 'exit 0']);
    assert.equal(out.code, 126);
    assert.match(out.stderr, /^ol-launcher: exec: \/bin\/sh: Operation not supported\n$/);
    out = await run(['--seccomp', path.join(dir, 'bad.bpf')], ['/bin/sh', '-c', 'exit 0']);
    assert.equal(out.code, 125);
    assert.match(out.stderr, /^ol-launcher: seccomp: .*bad\.bpf: size 7 is not/);
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});

test('--uid and --gid switch user with no supplementary groups and no capabilities', T, async () => {
  const out = await run(['--uid', '65534', '--gid', '65534'], py(`import json, os
print(json.dumps([os.getuid(), os.geteuid(), os.getgid(), os.getegid(), os.getgroups(),
  [l.split()[1] for l in open("/proc/self/status") if l.split(":")[0] in ("CapEff", "CapPrm", "CapBnd", "NoNewPrivs")]]))`));
  assert.equal(out.code, 0, out.stderr);
  const zero = '0000000000000000';
  assert.deepEqual(firstJson(out.stdout), [65534, 65534, 65534, 65534, [], [zero, zero, zero, '1']]);
});

test('--chdir and --hostname', T, async () => {
  const scratch = tempDir('ol-launcher-scratch-');
  const out = await run(['--bind', scratch, '/host', '--chdir', '/host', '--hostname', 'sandbox'], py('import os, socket; print(os.getcwd(), socket.gethostname())'));
  fs.rmdirSync(scratch);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, '/host sandbox\n');
});

test('--die-with-parent: killing the launcher\'s parent tears the sandbox down', T, async () => {
  const root = tempDir('ol-launcher-root-');
  // An intermediate shell is the launcher's parent; the test kills it. (Its
  // background job gets /dev/null as stdin, so the program waits in pause().)
  const shell = cp.spawn('/bin/sh', ['-c', '"$@" & wait', 'sh', LAUNCHER, '--die-with-parent', '--root', root, ...BASE, '--status-fd', '3', '--', ...py('import signal\nprint("ready", flush=True)\nsignal.pause()')], {
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
  });
  let status = '';
  let stdout = '';
  (shell.stdio[3] as stream.Readable).on('data', (d: Buffer) => (status += d.toString()));
  shell.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  const closed = new Promise((resolve) => shell.on('close', resolve));
  const init = Number(await until(() => /^pid (\d+)\n/.exec(status)?.[1], 'pid line'));
  await until(() => stdout.includes('ready') || undefined, 'ready');
  const program = await programPid(init);
  const launcher = stat(init)!.ppid;
  shell.kill('SIGKILL');
  const gone = (pid: number) => (stat(pid) === undefined || stat(pid)!.state === 'Z' ? true : undefined);
  for (const pid of [launcher, init, program]) await until(() => gone(pid), `pid ${pid} to die`);
  await closed;
  fs.rmdirSync(root);
});

test('usage and setup errors exit 125 with one clear line; a missing program exits 126', T, async () => {
  const root = tempDir('ol-launcher-root-');
  const link = path.join(tempDir('ol-launcher-link-'), 'link');
  fs.symlinkSync('/etc', link); // absolute: before pivot_root it would lead to the host's /etc
  const cases: [string[], number, RegExp][] = [
    [['--bogus', '--', '/bin/true'], 125, /^ol-launcher: usage: unknown option: '--bogus'/],
    [['--', '/bin/true'], 125, /^ol-launcher: usage: --root DIR is required\n$/],
    [['--root', root, ...BASE], 125, /^ol-launcher: usage: missing '-- PROGRAM/],
    [['--root', root, '--tmpfs', '/tmp', 'big', '--', '/bin/true'], 125, /^ol-launcher: usage: --tmpfs: not a number/],
    [['--root', root, '--tmpfs', '/a/../b', '0', '--', '/bin/true'], 125, /^ol-launcher: usage: --tmpfs: path must not contain '\.\.'/],
    [['--root', root, '--tmpfs', 'rel', '0', '--', '/bin/true'], 125, /^ol-launcher: usage: --tmpfs: path .* must be absolute/],
    [['--root', root, '--hostname'], 125, /^ol-launcher: usage: --hostname needs 1 argument\n$/],
    [['--root', root, '--status-fd', '9', '--', '/bin/true'], 125, /^ol-launcher: status-fd: fd 9: Bad file descriptor\n$/],
    [['--root', root, '--cgroup-procs', '/nonexistent/cgroup.procs', '--', '/bin/true'], 125, /^ol-launcher: cgroup: joining \/nonexistent\/cgroup.procs: No such file or directory\n$/],
    [['--root', root, ...BASE, '--ro-bind', '/nonexistent', '/x', '--', '/bin/true'], 125, /^ol-launcher: mount: bind source \/nonexistent: No such file or directory\n$/],
    [['--root', root, ...BASE, '--ro-bind', link, '/l', '--ro-bind', '/etc/hostname', '/l/x', '--', '/bin/true'], 125, /^ol-launcher: mount: \/l\/x: a parent is a symlink\n$/],
    [['--root', root, ...BASE, '--chdir', '/nonexistent', '--', '/bin/true'], 125, /^ol-launcher: chdir: \/nonexistent: No such file or directory\n$/],
    [['--root', root, ...BASE, '--', '/nonexistent'], 126, /^ol-launcher: exec: \/nonexistent: No such file or directory\n$/],
    [['--root', root, ...BASE, '--', '/usr'], 126, /^ol-launcher: exec: \/usr: Permission denied\n$/],
  ];
  try {
    for (const [args, code, message] of cases) {
      const r = cp.spawnSync(LAUNCHER, args, { encoding: 'utf8' });
      assert.equal(r.status, code, args.join(' '));
      assert.match(r.stderr, message, args.join(' '));
    }
    assert.deepEqual(fs.readdirSync(root), []);
  } finally {
    fs.rmdirSync(root);
    fs.rmSync(path.dirname(link), { recursive: true });
  }
});

test('--seccomp filters the sandbox init too: every sandbox process shows Seccomp 2', T, async () => {
  const dir = tempDir('ol-launcher-seccomp-init-');
  try {
    const allowAll = Buffer.alloc(8);
    allowAll.writeUInt16LE(0x06, 0); // ret ALLOW (little-endian hosts: x86_64, aarch64)
    allowAll.writeUInt32LE(0x7fff0000, 4);
    fs.writeFileSync(path.join(dir, 'allow.bpf'), allowAll);
    const l = new Launch(['--seccomp', path.join(dir, 'allow.bpf')], pyHold('', '0'));
    const init = await l.initPid();
    await l.stdoutHas('ready');
    const program = await programPid(init);
    for (const pid of [init, program]) {
      assert.equal(statusField(pid, 'Seccomp'), '2', `pid ${pid}`);
      assert.equal(statusField(pid, 'NoNewPrivs'), '1', `pid ${pid}`);
    }
    assert.equal((await l.finish()).code, 0);
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});

test('--netns joins a network namespace made beforehand; it excludes --unshare-net', T, async () => {
  // A process holding a fresh network namespace: its /proc/PID/ns/net is a namespace file like /run/netns/NAME.
  const holder = cp.spawn('unshare', ['--net', 'sleep', '60'], { stdio: 'ignore' });
  try {
    const nsFile = `/proc/${holder.pid}/ns/net`;
    const want = await until(() => {
      try {
        const ns = fs.readlinkSync(nsFile);
        return ns !== fs.readlinkSync('/proc/self/ns/net') ? ns : undefined;
      } catch {
        return undefined;
      }
    }, 'the holder in its own network namespace');
    const out = await run(['--netns', nsFile], py('import os; print(os.readlink("/proc/self/ns/net"))'));
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout.trim(), want);
    const both = await run(['--netns', nsFile, '--unshare-net'], ['/bin/true']);
    assert.equal(both.code, 125);
    assert.match(both.stderr, /--netns and --unshare-net exclude each other/);
    const missing = await run(['--netns', '/nonexistent/netns'], ['/bin/true']);
    assert.equal(missing.code, 125);
    assert.match(missing.stderr, /^ol-launcher: netns: opening \/nonexistent\/netns: No such file or directory\n$/);
  } finally {
    holder.kill('SIGKILL');
  }
});

test('--rlimit sets soft and hard limits for the program; bad names and inverted limits are usage errors', T, async () => {
  const out = await run(
    ['--rlimit', 'nofile', '64', '128', '--rlimit', 'core', '0', '0', '--rlimit', 'fsize', '1048576', 'unlimited', '--uid', '65534', '--gid', '65534'],
    py(`import json, resource as r
print(json.dumps([r.getrlimit(r.RLIMIT_NOFILE), r.getrlimit(r.RLIMIT_CORE), r.getrlimit(r.RLIMIT_FSIZE)]))`),
  );
  assert.equal(out.code, 0, out.stderr);
  assert.deepEqual(firstJson(out.stdout), [[64, 128], [0, 0], [1048576, -1]]);
  const unknown = await run(['--rlimit', 'bogus', '1', '1'], ['/bin/true']);
  assert.equal(unknown.code, 125);
  assert.match(unknown.stderr, /--rlimit: unknown resource 'bogus'/);
  const inverted = await run(['--rlimit', 'nofile', '10', '5'], ['/bin/true']);
  assert.equal(inverted.code, 125);
  assert.match(inverted.stderr, /soft limit 10 is above the hard limit 5/);
});

test('--new-cgroupns: the sandbox sees its own cgroup as the root', T, async () => {
  const out = await run(['--new-cgroupns'], py('import os; print(os.readlink("/proc/self/ns/cgroup")); print(open("/proc/self/cgroup").read())'));
  assert.equal(out.code, 0, out.stderr);
  const [ns, ...lines] = out.stdout.trim().split('\n');
  assert.notEqual(ns, fs.readlinkSync('/proc/self/ns/cgroup'));
  for (const line of lines) assert.match(line, /:\/$/, line);
});
