import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { SandboxBackendPoint } from '../../../core';
import { ZYGOTE_PACKAGES } from '../../../test/helpers/zygote-config';
import { startSecretsWorker, writeFunctions, type SecretsWorker } from './secrets-worker';

/**
 * Where env/file secret values live on the host, with real sandboxes and a
 * real zygote: never on a command line (the launcher gets them on a pipe),
 * never in a zygote (a forked instance gets its own after the fork), so a
 * sibling forked from the same zygote for another role never inherits them.
 */
const fresh = (tag: string) => `${tag}-${randomBytes(16).toString('hex')}`;
const halves = (v: string): [string, string] => [v.slice(0, 12), v.slice(12)];
const SECRET_A = fresh('seca');
const SECRET_B = fresh('secb');
const T = { timeout: 120_000 };

let w: SecretsWorker;
let functions: string;

before(async () => {
  functions = fs.mkdtempSync(path.join(os.tmpdir(), 'olsec-iso-'));
  writeFunctions(functions, {
    'env-fresh': 'secrets:\n  - { name: secret-a, mode: env, env: SECRET_A }\n',
    // Both import cleanpkg: one zygote serves both, whatever their roles.
    'z-holder': 'imports: [cleanpkg]\nsecrets:\n  - { name: secret-a, mode: env, env: SECRET_A }\n  - { name: secret-a, mode: file }\n',
    'z-other': 'imports: [cleanpkg]\nsecrets:\n  - { name: secret-b, mode: env, env: SECRET_B }\n',
  });
  const keyFile = path.join(functions, 'test.key');
  fs.writeFileSync(keyFile, randomBytes(32).toString('hex'), { mode: 0o600 });
  w = await startSecretsWorker(
    {
      'secrets-file': { key_file: keyFile, key_env: 'OL_TEST_UNSET_KEY_VARIABLE' },
      'secret-grants': {
        roles: { 'role-a': { secrets: { 'secret-a': { modes: ['env', 'file'] } } }, 'role-b': { secrets: { 'secret-b': { modes: ['env'] } } } },
        grants: { functions: { 'env-fresh': 'role-a', 'z-holder': 'role-a', 'z-other': 'role-b' } },
      },
      zygote: { package_dirs: [ZYGOTE_PACKAGES], learn_after: 1, check: false },
    },
    functions,
    ['secrets-file', 'secret-grants', 'zygote'],
  );
  for (const [name, value] of [['secret-a', SECRET_A], ['secret-b', SECRET_B]]) assert.equal((await w.admin('PUT', `/secrets/${name}`, value)).status, 204);
});

after(async () => {
  await w?.stop();
  fs.rmSync(functions, { recursive: true, force: true });
});

test('env mode: the value reaches os.environ through the launcher\'s env fd, never a command line, nor the launcher\'s or the worker\'s environment', T, async () => {
  const r = await w.run('env-fresh', { env: 'SECRET_A' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.env, SECRET_A);
  // The instance is warm: its launcher (L), sandbox init (C) and runtime run now.
  const sb = liveSandbox('env-fresh');
  const init: number = sb.pid;
  const launcher = ppid(init);
  assert.match(cmdline(launcher), /ol-launcher.*--env-fd 4/);
  assert.deepEqual(hostPids().filter((p) => read(`/proc/${p}/cmdline`).includes(SECRET_A)), [], 'a host process has the value on its command line');
  for (const [who, pid] of [['launcher', launcher], ['sandbox init', init], ['worker', process.pid]] as const) {
    assert.equal(read(`/proc/${pid}/environ`).includes(SECRET_A), false, `the ${who}'s environment`);
  }
  await assertOnlyRuntimesHold(SECRET_A, [{ sb, forked: false }]);
});

test('a zygote-forked instance does not inherit another role\'s secrets, and the zygote never holds one', T, async () => {
  const holder = await w.run('z-holder', { env: 'SECRET_A', file: '/run/ol/secrets/secret-a', scan: { a: halves(SECRET_A) } });
  assert.equal(holder.status, 200, holder.text);
  assert.deepEqual([holder.json.env, holder.json.file], [SECRET_A, SECRET_A], 'the granted instance gets the value in both modes');
  assert.equal(holder.json.scan.a.memory, true, 'the memory probe finds a value a forked instance holds, so its negative answers mean something');
  const other = await w.run('z-other', { env: 'SECRET_A', file: '/run/ol/secrets/secret-a', scan: { a: halves(SECRET_A), b: halves(SECRET_B) } });
  assert.equal(other.status, 200, other.text);
  const [node] = (await w.admin('GET', '/zygote/tree')).json.zygotes;
  assert.equal(node?.forks, 2, `both instances were forked from the same zygote: ${JSON.stringify(node)}`);
  assert.equal(other.json.env, null);
  assert.equal(other.json.file_error, 'No such file or directory');
  assert.deepEqual({ environ: other.json.scan.a.environ, files: other.json.scan.a.files, memory: other.json.scan.a.memory }, { environ: false, files: [], memory: false }, 'the other role\'s instance has the value nowhere it can read');
  assert.equal(other.json.scan.b.environ, true, 'it has its own role\'s secret');
  assert.ok(other.json.scan.a.memory_bytes > 4 * 1024 * 1024, `the probe read the forked instance's memory: ${other.json.scan.a.memory_bytes} bytes`);

  // The zygote itself, seen from the host after both forks: no value in its memory, environment, command line or root.
  const zygote = liveSandbox('zygote.');
  const server = children(zygote.pid)[0];
  const where = memoryHolding(server, [SECRET_A, SECRET_B]);
  assert.ok(where.scanned > 4 * 1024 * 1024, `read the zygote's memory: ${where.scanned} bytes`);
  assert.deepEqual(where.found, [], 'the zygote holds a secret value in its memory');
  // Nor any other process of its sandbox (e.g. a spare forked ahead of the next request).
  for (const pid of (await zygote.cgroup.pids()) as number[]) {
    if (pid !== server && read(`/proc/${pid}/maps`).length) assert.deepEqual(memoryHolding(pid, [SECRET_A, SECRET_B]).found, [], `pid ${pid} (${cmdline(pid)}) of the zygote's sandbox`);
  }
  for (const v of [SECRET_A, SECRET_B]) for (const f of ['environ', 'cmdline']) assert.equal(read(`/proc/${server}/${f}`).includes(v), false, `zygote ${f}`);
  assert.equal(fs.existsSync(`/proc/${server}/root/run/ol`), false, 'the zygote has no secrets mount');
  // The forked instance's sandbox (its launcher, init, holder) does not get the value either: only the forked runtime reads it.
  await assertOnlyRuntimesHold(SECRET_A, [{ sb: liveSandbox('env-fresh'), forked: false }, { sb: liveSandbox('z-holder'), forked: true }]);
  assert.deepEqual(hostPids().filter((p) => [SECRET_A, SECRET_B].some((v) => read(`/proc/${p}/cmdline`).includes(v))), [], 'a host process has a value on its command line');
});

test('no value reached the worker\'s log', () => {
  assert.ok(w.logLines.some((l) => l.includes('sandbox started')), `the log (${w.logLines.length} lines) has the sandboxes' lines`);
  for (const v of [SECRET_A, SECRET_B]) assert.equal(w.logLines.join('').includes(v), false);
});

/**
 * The value is in /proc/PID/environ of processes of the granted instances'
 * sandboxes, and of none other on the host: not their launchers, not their
 * sandbox inits, not the init's program when a zygote-forked runtime serves it.
 */
async function assertOnlyRuntimesHold(value: string, instances: { sb: any; forked: boolean }[]): Promise<void> {
  const holders = hostPids().filter((p) => read(`/proc/${p}/environ`).includes(value));
  const inSandboxes = new Set<number>();
  const launcherBuilt = new Set<number>();
  for (const { sb, forked } of instances) {
    const pids: number[] = await sb.cgroup.pids();
    // A forked runtime's /proc environ is the zygote's exec-time block; its variables are set in memory after the fork.
    if (!forked) assert.ok(holders.some((p) => pids.includes(p)), `the runtime of ${sb.fn.name} has the value in its environment`);
    for (const p of pids) inSandboxes.add(p);
    for (const p of [ppid(sb.pid), sb.pid, ...(forked ? children(sb.pid) : [])]) launcherBuilt.add(p);
  }
  for (const p of holders) {
    assert.ok(inSandboxes.has(p), `pid ${p} (${cmdline(p)}), outside the granted instances' sandboxes, has the value in its environment`);
    assert.ok(!launcherBuilt.has(p), `pid ${p} (${cmdline(p)}), built by the launcher, has the value in its environment`);
  }
}

/** The live sandbox of the function (or the zygote) whose name starts with `prefix`. */
function liveSandbox(prefix: string): any {
  const all = w.worker.container.resolve<any>(SandboxBackendPoint.token).sandboxes as any[];
  const sb = all.find((s) => String(s.fn.name).startsWith(prefix));
  assert.ok(sb, `a live sandbox for ${prefix}: ${all.map((s) => s.fn.name)}`);
  return sb;
}

function hostPids(): number[] {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
}

/** A /proc file, empty when the process is gone (or a kernel thread). */
function read(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch {
    return Buffer.alloc(0);
  }
}

function cmdline(pid: number): string {
  return read(`/proc/${pid}/cmdline`).toString().replace(/\0/g, ' ');
}

function ppid(pid: number): number {
  return Number(/^PPid:\s+(\d+)$/m.exec(read(`/proc/${pid}/status`).toString())![1]);
}

function children(pid: number): number[] {
  return read(`/proc/${pid}/task/${pid}/children`).toString().trim().split(/\s+/).filter(Boolean).map(Number);
}

/** Which of `values` are in a process's readable memory (every mapping, through /proc/PID/mem, as root). */
function memoryHolding(pid: number, values: string[]): { found: string[]; scanned: number } {
  const CHUNK = 1 << 20;
  const overlap = Math.max(...values.map((v) => v.length));
  const found = new Set<string>();
  let scanned = 0;
  const fd = fs.openSync(`/proc/${pid}/mem`, 'r');
  try {
    for (const line of read(`/proc/${pid}/maps`).toString().trim().split('\n')) {
      const [range, perms, , , , name] = line.split(/\s+/);
      if (!perms.includes('r') || ['[vvar]', '[vsyscall]', '[vvar_vclock]'].includes(name)) continue;
      const [lo, hi] = range.split('-').map((x) => parseInt(x, 16));
      const buf = Buffer.alloc(CHUNK + overlap);
      for (let pos = lo; pos < hi; pos += CHUNK) {
        let n: number;
        try {
          n = fs.readSync(fd, buf, 0, Math.min(CHUNK + overlap, hi - pos), pos);
        } catch {
          break; // an unreadable mapping (e.g. guard pages)
        }
        scanned += n;
        for (const v of values) if (buf.subarray(0, n).includes(v)) found.add(v);
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return { found: [...found], scanned };
}
