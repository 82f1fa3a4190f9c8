// Zygotes through a real worker: instances forked from a pre-imported package,
// the fallback when a fork fails, and the directory-fd escape the suitability check prevents.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SandboxBackendPoint } from '../../../core';
import { startWorker, type RunningWorker } from '../../../test/helpers/worker-fixture';
import { BASE_PLUGINS, ZYGOTE_PACKAGES, zygoteTestConfig } from '../../../test/helpers/zygote-config';

const T = { timeout: 180_000 };

/** Test functions, each importing one of the test packages (# ol-import). */
const FUNCTIONS: Record<string, string> = {
  zslow: `# ol-import: slowpkg
import os, random
import slowpkg

def f(event):
    status = dict(l.rstrip("\\n").split(":\\t", 1) for l in open("/proc/self/status") if ":\\t" in l)
    return {"answer": slowpkg.answer((event or {}).get("x")), "pid": os.getpid(), "uid": os.getuid(),
            "rand": random.random(), "caps": status["CapEff"], "nnp": status["NoNewPrivs"],
            "host": sorted(os.listdir("/host"))}
`,
  zboth: `# ol-import: cleanpkg, slowpkg
import os
import cleanpkg, slowpkg

def f(event):
    return {"clean": cleanpkg.describe(), "slow": slowpkg.answer(1), "pid": os.getpid(), "uid": os.getuid()}
`,
  zdie: `# ol-import: cleanpkg
import os, signal
import cleanpkg

def f(event):
    if event["how"] == "exit":
        os._exit(7)
    os.kill(os.getpid(), signal.SIGSEGV)
`,
  zplain: `import os

def f(event):
    return {"pid": os.getpid(), "uid": os.getuid()}
`,
  zlate: `# ol-import: latethreader
import latethreader

def f(event):
    return "ok"
`,
  zescape: `# ol-import: diropener
import os
import diropener

def f(event):
    # What the directory fd diropener opened at import reaches: its root's /host.
    os.fchdir(diropener.ROOT_FD)
    return {"host": sorted(os.listdir("host")), "own_host": sorted(os.listdir("/host"))}
`,
};

function functionsDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'olz-fns-'));
  fs.chmodSync(dir, 0o755);
  for (const [name, src] of Object.entries(FUNCTIONS)) {
    fs.mkdirSync(path.join(dir, name), { mode: 0o755 });
    fs.writeFileSync(path.join(dir, name, 'f.py'), src, { mode: 0o644 });
  }
  return dir;
}

const workers: RunningWorker[] = [];
after(async () => {
  for (const w of workers) await w.stop();
});

async function worker(zygote: Record<string, unknown>, withCheck = true): Promise<RunningWorker> {
  const plugins = [...BASE_PLUGINS, ...(withCheck ? ['zygote-suitability'] : []), 'zygote'];
  const sections = {
    ...(withCheck ? { 'zygote-suitability': { package_dirs: [ZYGOTE_PACKAGES] } } : {}),
    zygote: { package_dirs: [ZYGOTE_PACKAGES], learn_after: 1, ...zygote },
  };
  const fns = functionsDir();
  // revalidate_ms=0: coldAgain() edits code in place and the next call must see it at once.
  const w = await startWorker([`registry-dir.dirs=[${fns}]`, 'registry-dir.revalidate_ms=0'], zygoteTestConfig(plugins, sections));
  workers.push(w);
  functionDirs.set(w, fns);
  return w;
}

const functionDirs = new Map<RunningWorker, string>();

async function tree(w: RunningWorker): Promise<any[]> {
  return (await w.admin('GET', '/zygote/tree')).json.zygotes;
}

async function metric(w: RunningWorker, name: string): Promise<string> {
  const text = (await w.admin('GET', '/metrics')).text;
  return text.split('\n').filter((l) => l.startsWith(name)).join('\n');
}

/** The live sandboxes of the worker's SOCK backend. */
function sandboxes(w: RunningWorker): any[] {
  return w.worker.container.resolve<any>(SandboxBackendPoint.token).sandboxes;
}

/** New code for `name`, as a user would upload it: its warm instance is retired, so the next call is a cold start. */
function coldAgain(w: RunningWorker, name: string): void {
  fs.appendFileSync(path.join(functionDirs.get(w)!, name, 'f.py'), `\n# new version ${Date.now()}\n`);
}

test('a function importing a slow package is served by a forked instance of its zygote: unprivileged, unique, isolated', T, async () => {
  const w = await worker({});
  const first = await w.run('zslow', { x: 1 });
  assert.equal(first.status, 200, first.text);
  assert.deepEqual(first.json.answer, { x: 1, tables: 5000, index: 100000 });
  const [node] = await tree(w);
  assert.deepEqual(node.packages, ['slowpkg==1.0']);
  assert.equal(node.origin, 'learned');
  assert.equal(node.forks, 1, 'the instance was forked from the zygote');
  // A leaf like any other: pid 2 of its own pid namespace, nobody, no capabilities, no_new_privs, its own /host.
  assert.equal(first.json.pid, 2);
  assert.equal(first.json.uid, 65534);
  assert.equal(first.json.caps, '0000000000000000');
  assert.equal(first.json.nnp, '1');
  assert.ok(first.json.host.includes('ol.sock') && !first.json.host.includes('fork.sock'), `its own scratch dir: ${first.json.host}`);
  // Its pid 1 is ol-launcher --reap (no copy of the zygote left), and it is in the instance's cgroup, not the zygote's.
  const leaf = sandboxes(w).find((s: any) => s.fn.name === 'zslow');
  const cmdlines = (await leaf.cgroup.pids()).map((p: number) => fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ').trim());
  assert.ok(cmdlines.some((c: string) => c.startsWith('ol-launcher --reap')), `the reaper is in the instance's cgroup: ${cmdlines.join(' | ')}`);

  coldAgain(w, 'zslow');
  const second = await w.run('zslow', { x: 2 });
  assert.equal(second.status, 200, second.text);
  assert.equal((await tree(w))[0].forks, 2);
  assert.notEqual(second.json.rand, first.json.rand, 'random generators are reseeded in every forked instance');
  assert.match(await metric(w, 'ol_zygote_forks_total'), /result="forked"} 2/);
});

test('when the fork fails, the call still succeeds in a fresh sandbox, and the fallback is counted', T, async () => {
  const w = await worker({});
  assert.equal((await w.run('zslow', {})).status, 200);
  assert.equal((await tree(w))[0].forks, 1);
  // Break the zygote's fork socket (from the host, through its server's root).
  const zygote = sandboxes(w).find((s: any) => String(s.fn.name).startsWith('zygote.'));
  const server = Number(fs.readFileSync(`/proc/${zygote.pid}/task/${zygote.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
  fs.unlinkSync(`/proc/${server}/root/host/fork.sock`);
  coldAgain(w, 'zslow');
  const res = await w.run('zslow', { x: 3 });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.answer.x, 3);
  assert.equal((await tree(w))[0].forks, 1, 'not forked this time');
  assert.match(await metric(w, 'ol_zygote_forks_total'), /result="fallback"} 1/);
});

test('an inherited directory fd lets a forked child escape its root without the check; with the check the package stays out of zygotes', T, async () => {
  // Without the check: diropener enters a zygote, and its directory fd reaches the zygote's root from every child.
  const unchecked = await worker({ check: false }, false);
  const escaped = await unchecked.run('zescape', {});
  assert.equal(escaped.status, 200, escaped.text);
  assert.equal((await tree(unchecked))[0].forks, 1);
  assert.ok(escaped.json.host.includes('fork.sock'), `the child listed the zygote's own /host through the fd: ${escaped.json.host}`);
  assert.ok(!escaped.json.own_host.includes('fork.sock'));

  // With the check: diropener is unsuitable, no zygote imports it; the function imports it in its own instance.
  const checked = await worker({});
  const contained = await checked.run('zescape', {});
  assert.equal(contained.status, 200, contained.text);
  assert.deepEqual(await tree(checked), [], 'no zygote was made for an unsuitable package');
  assert.ok(!contained.json.host.includes('fork.sock'), `the fd reaches only the instance's own root: ${contained.json.host}`);
  assert.deepEqual(contained.json.host, contained.json.own_host);
});

test('a zygote that became unfit after it started (a thread appeared) is retired before the next fork; calls go on fresh', T, async () => {
  const w = await worker({});
  const first = await w.run('zlate', {});
  assert.equal(first.status, 200, first.text);
  assert.equal((await tree(w))[0].forks, 1, 'latethreader passed the probe (no thread yet) and the first call was forked');
  // The package starts its thread 8 s after import; wait for it to appear in the zygote (no event for a new thread: poll).
  const zygote = sandboxes(w).find((s: any) => String(s.fn.name).startsWith('zygote.'));
  const server = Number(fs.readFileSync(`/proc/${zygote.pid}/task/${zygote.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
  for (let i = 0; i < 200 && fs.readdirSync(`/proc/${server}/task`).length < 2; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(fs.readdirSync(`/proc/${server}/task`).length, 2);
  coldAgain(w, 'zlate');
  const second = await w.run('zlate', {});
  assert.equal(second.status, 200, second.text);
  const [node] = await tree(w);
  assert.equal(node.forks, 1, 'not forked from the unfit zygote');
  assert.match(node.state, /^retired: threads/);
  assert.match(await metric(w, 'ol_zygotes_retired_total'), /reason="unsuitable"} 1/);
});

/** Depth of a process's pid namespace (1 = the host's), from NSpid in /proc/<pid>/status. */
function pidNsDepth(pid: number): number {
  return /^NSpid:\s+(.*)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1].trim().split(/\s+/).length;
}

test('a child zygote is forked from its parent (root -> cleanpkg -> cleanpkg+slowpkg); a function without packages is forked from the root', T, async () => {
  const w = await worker({ root: true, learn: false, tree: [{ packages: ['cleanpkg==1.0'], children: [{ packages: ['slowpkg==1.0'] }] }] });
  const plain = await w.run('zplain', {});
  assert.equal(plain.status, 200, plain.text);
  assert.deepEqual(plain.json, { pid: 2, uid: 65534 }, 'forked from the root zygote: pid 2 of its own namespace, unprivileged');
  const both = await w.run('zboth', {});
  assert.equal(both.status, 200, both.text);
  assert.deepEqual(both.json, { clean: '{"entries": 1000}', slow: { x: 1, tables: 5000, index: 100000 }, pid: 2, uid: 65534 });

  const [root] = await tree(w);
  assert.deepEqual(root.packages, []);
  assert.equal(root.forks, 1, 'zplain was forked from the root');
  const [clean] = root.children;
  assert.deepEqual(clean.packages, ['cleanpkg==1.0']);
  assert.equal(clean.forkedFromParent, true, 'the cleanpkg zygote was forked from the root');
  const [leafZygote] = clean.children;
  assert.deepEqual(leafZygote.packages, ['cleanpkg==1.0', 'slowpkg==1.0']);
  assert.equal(leafZygote.forkedFromParent, true);
  assert.equal(leafZygote.forks, 1, 'zboth was forked from the deepest zygote');
  assert.equal(clean.instances, 1, 'the child zygote holds a reference on its parent');

  // Each fork nests a pid namespace: root server at 2 levels (host, its sandbox), each child one deeper (its own, unshared at the fork).
  assert.deepEqual([root, clean, leafZygote].map((n) => pidNsDepth(n.serverPid)), [2, 3, 4]);
});

test('a forked instance that dies is diagnosed from its exit status, as a fresh one is (exit code, signal)', T, async () => {
  const w = await worker({});
  const exited = await w.run('zdie', { how: 'exit' });
  assert.equal(exited.status, 502, exited.text);
  assert.match(exited.text, /exited with code 7/);
  const killed = await w.run('zdie', { how: 'segv' });
  assert.equal(killed.status, 502, killed.text);
  assert.match(killed.text, /killed by signal SIGSEGV/);
  assert.equal((await tree(w))[0].forks, 2, 'both instances were forked from the cleanpkg zygote');
});
