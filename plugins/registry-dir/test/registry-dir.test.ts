import 'reflect-metadata';
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { setImmediate as nextLoop } from 'node:timers/promises';
import { container } from 'tsyringe';
import { ConfigError, FunctionRegistryPoint, Tokens, type FunctionRegistry } from '../../../core';
import { workerPaths } from '../../../core/lifecycle/worker-paths';
import { Kernel } from '../../../core/plugin/kernel';
import { DirRegistry } from '../dir-registry';
import { LookupCache } from '../lookup-cache';
import { RegistryError } from '../registry-error';
import { archiveOf, makeRegistry, silent, tarGz, tempDir, writeTree } from './fixtures';

/** A read-only source dir like the bundled examples/: two functions, plus things list() must skip. */
function examplesDir(): string {
  const dir = tempDir('registry-dir-examples-');
  writeTree(dir, {
    'hello/f.py': 'def f(event):\n    return "hello"\n',
    'configured/ol.yaml': 'entry: main.py\n',
    'configured/main.py': 'def f(event):\n    return 1\n',
    'plugins/README.md': 'not a function\n',
    '.hidden/f.py': 'def f(event):\n    return 0\n',
    'bad name!/f.py': 'def f(event):\n    return 0\n',
  });
  writeFileSync(path.join(dir, 'loose.py'), '# a file, not a function dir\n');
  return dir;
}

async function rejects(p: Promise<unknown>, status: number, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof RegistryError, `expected a RegistryError, got ${String(e)}`);
    assert.equal(e.status, status);
    assert.match(e.message, message);
    return true;
  });
}

/** Waits (without a fixed sleep) until the file system's clock has moved past `file`'s ctime. */
async function pastTimestampTick(file: string): Promise<void> {
  const probe = `${file}.tick`;
  const before = lstatSync(file, { bigint: true }).ctimeNs;
  for (;;) {
    writeFileSync(probe, '');
    if (lstatSync(probe, { bigint: true }).ctimeNs > before) break;
    await nextLoop();
  }
  execFileSync('rm', ['-f', probe]);
}

test('list() finds functions in upload_dir and dirs, sorted and unique, skipping hidden and non-function dirs', async () => {
  const examples = examplesDir();
  const { registry } = makeRegistry({ dirs: [examples] });
  assert.deepEqual(await registry.list(), ['configured', 'hello'], 'upload_dir does not exist yet: not an error');
  await registry.install('zeta', await archiveOf({ 'f.py': 'def f(e):\n    return 1\n' }));
  await registry.install('hello', await archiveOf({ 'f.py': 'def f(e):\n    return 2\n' }));
  assert.deepEqual(await registry.list(), ['configured', 'hello', 'zeta']);
});

test('lookup() searches upload_dir first, then dirs in order; an upload shadows a read-only function', async () => {
  const first = examplesDir();
  const second = writeTree(tempDir(), { 'hello/f.py': 'second\n', 'only2/f.py': 'x\n' });
  const { registry, uploadDir } = makeRegistry({ dirs: [first, second] });

  const ro = await registry.lookup('hello');
  assert.deepEqual(ro && { name: ro.name, codeDir: ro.codeDir }, { name: 'hello', codeDir: path.join(first, 'hello') });
  assert.equal((await registry.lookup('only2'))?.codeDir, path.join(second, 'only2'));
  assert.equal((await registry.lookup('configured'))?.codeDir, path.join(first, 'configured'), 'ol.yaml without f.py counts');
  assert.equal(await registry.lookup('plugins'), null, 'a dir with neither f.py nor ol.yaml is not a function');
  assert.equal(await registry.lookup('missing'), null);

  const installed = await registry.install('hello', await archiveOf({ 'f.py': 'uploaded\n' }));
  assert.equal(installed.codeDir, path.join(uploadDir, 'hello'));
  const now = await registry.lookup('hello');
  assert.deepEqual(now, installed);
  assert.notEqual(now!.version, ro!.version);
  assert.equal(readFileSync(path.join(now!.codeDir, 'f.py'), 'utf8'), 'uploaded\n');
});

test('relative dirs resolve against the working directory; codeDir is absolute', async () => {
  const base = tempDir();
  writeTree(base, { 'fns/rel/f.py': 'x\n' });
  const cwd = process.cwd();
  process.chdir(base);
  try {
    const { registry } = makeRegistry({ dirs: ['fns'] });
    process.chdir(cwd);
    const found = await registry.lookup('rel');
    assert.equal(found?.codeDir, path.join(base, 'fns', 'rel'));
    assert.ok(path.isAbsolute(found!.codeDir));
  } finally {
    process.chdir(cwd);
  }
});

test('the version is stable while nothing changes (reads and lookups do not count)', async () => {
  const dir = writeTree(tempDir(), { 'fn/f.py': 'def f(e):\n    return 1\n', 'fn/lib/util.py': 'X = 1\n' });
  const { registry } = makeRegistry({ dirs: [dir] });
  const v1 = (await registry.lookup('fn'))!.version;
  readFileSync(path.join(dir, 'fn/lib/util.py'));
  await registry.list();
  assert.equal((await registry.lookup('fn'))!.version, v1);
  assert.equal((await makeRegistry({ dirs: [dir] }).registry.lookup('fn'))!.version, v1, 'another registry instance agrees');
});

test('an in-place edit is seen once revalidate_ms has passed; until then the last lookup is reused', async () => {
  const dir = writeTree(tempDir(), { 'fn/f.py': 'def f(e):\n    return 1\n' });
  const { registry } = makeRegistry({ dirs: [dir], revalidate_ms: 300 });
  const v1 = (await registry.lookup('fn'))!.version;
  appendFileSync(path.join(dir, 'fn/f.py'), '# edited\n');
  assert.equal((await registry.lookup('fn'))!.version, v1, 'within the TTL the cached answer is reused');
  await new Promise((r) => setTimeout(r, 350));
  assert.notEqual((await registry.lookup('fn'))!.version, v1, 'after the TTL the edit is seen');
});

test('remembered lookups are all dropped a TTL after the last one, and then no timer is left', async () => {
  const cache = new LookupCache<string>(60);
  for (const name of ['a', 'b', 'c']) cache.set(name, name);
  assert.equal(cache.size, 3);
  assert.ok(cache.sweeping, 'the expiry timer runs while entries are held');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(cache.size, 0, 'entries of functions not looked up again are gone without another lookup');
  assert.equal(cache.sweeping, false, 'no timer once empty');
  cache.set('d', 'd');
  cache.clear();
  assert.equal(cache.sweeping, false, 'clear() (worker stop) stops the timer');
});

test('an install or removal through the registry is seen at once, whatever revalidate_ms says', async () => {
  const { registry } = makeRegistry({ revalidate_ms: 3_600_000 });
  assert.equal(await registry.lookup('up'), null);
  await registry.install('up', await archiveOf({ 'f.py': 'def f(e):\n    return 1\n' }));
  const v1 = (await registry.lookup('up'))!.version;
  await registry.install('up', await archiveOf({ 'f.py': 'def f(e):\n    return 2\n' }));
  assert.notEqual((await registry.lookup('up'))!.version, v1);
  assert.equal(await registry.remove('up'), true);
  assert.equal(await registry.lookup('up'), null);
});

test('the version changes whenever any file in the function dir changes', async () => {
  const dir = writeTree(tempDir(), { 'fn/f.py': 'def f(e):\n    return 1\n', 'fn/lib/util.py': 'X = 1\n' });
  const { registry } = makeRegistry({ dirs: [dir], revalidate_ms: 0 });
  const fpy = path.join(dir, 'fn/f.py');
  const util = path.join(dir, 'fn/lib/util.py');
  const seen = new Set<string>();
  const expectNew = async (what: string) => {
    const v = (await registry.lookup('fn'))!.version;
    assert.ok(!seen.has(v), `version did not change after: ${what}`);
    seen.add(v);
  };
  await expectNew('start');

  appendFileSync(util, 'Y = 2\n');
  await expectNew('append to a nested file');

  await pastTimestampTick(fpy);
  const { mtime } = lstatSync(fpy);
  writeFileSync(fpy, 'def f(e):\n    return 2\n'); // same size
  utimesSync(fpy, mtime, mtime); // and the old mtime restored, as cp -p or tar would
  await expectNew('same-size rewrite with the mtime put back');

  writeFileSync(path.join(dir, 'fn/f.py.new'), 'def f(e):\n    return 3\n');
  await expectNew('new file');
  renameSync(path.join(dir, 'fn/f.py.new'), fpy);
  await expectNew('file replaced by rename (editor save)');

  mkdirSync(path.join(dir, 'fn/empty'));
  await expectNew('new directory');
  execFileSync('rm', ['-r', path.join(dir, 'fn/lib')]);
  await expectNew('directory removed');
});

test('install() accepts files at the top level, under "./", or in one top-level directory', async () => {
  const { registry } = makeRegistry();
  const src = writeTree(tempDir(), { 'myfn/f.py': 'def f(e):\n    return "wrapped"\n', 'myfn/pkg/mod.py': 'Z = 1\n' });

  const layouts: Record<string, Buffer> = {
    flat: await tarGz(path.join(src, 'myfn'), ['f.py', 'pkg']),
    dot: await tarGz(path.join(src, 'myfn'), ['.']),
    wrapped: await tarGz(src, ['myfn']),
    gnu: execFileSync('tar', ['czf', '-', '-C', src, 'myfn']),
    gnudot: execFileSync('tar', ['czf', '-', '-C', path.join(src, 'myfn'), '.']),
  };
  for (const [name, archive] of Object.entries(layouts)) {
    const got = await registry.install(name, archive);
    assert.deepEqual(readdirSync(got.codeDir).sort(), ['f.py', 'pkg'], name);
    assert.equal(readFileSync(path.join(got.codeDir, 'pkg/mod.py'), 'utf8'), 'Z = 1\n', name);
    assert.deepEqual(await registry.lookup(name), got, name);
  }
});

test('installed code is world-readable and never setuid, whatever the archive said', async () => {
  const src = writeTree(tempDir(), { 'f.py': 'x\n', 'run.sh': '#!/bin/sh\n', 'secret.txt': 's\n' });
  execFileSync('chmod', ['4755', path.join(src, 'run.sh')]);
  execFileSync('chmod', ['0600', path.join(src, 'secret.txt')]);
  const { registry } = makeRegistry();
  const got = await registry.install('modes', execFileSync('tar', ['czf', '-', '-C', src, '.']));
  const mode = (f: string) => lstatSync(path.join(got.codeDir, f)).mode & 0o7777;
  assert.equal(mode('.'), 0o755);
  assert.equal(mode('f.py'), 0o644);
  assert.equal(mode('run.sh'), 0o755);
  assert.equal(mode('secret.txt'), 0o644);
  assert.equal(lstatSync(got.codeDir).uid, process.getuid!(), 'archive owners are not applied');
});

test('re-install swaps the whole directory: new version, old files gone, nothing left behind', async () => {
  const { registry, uploadDir } = makeRegistry();
  const v1 = await registry.install('fn', await archiveOf({ 'f.py': 'one\n', 'old_only.py': 'x\n' }));
  const v2 = await registry.install('fn', await archiveOf({ 'f.py': 'two\n' }));
  assert.equal(v2.codeDir, v1.codeDir);
  assert.notEqual(v2.version, v1.version);
  assert.deepEqual(readdirSync(v2.codeDir), ['f.py']);
  assert.equal(readFileSync(path.join(v2.codeDir, 'f.py'), 'utf8'), 'two\n');
  assert.deepEqual(readdirSync(uploadDir), ['fn'], 'no scratch dirs remain');

  const v3 = await registry.install('fn', await archiveOf({ 'f.py': 'two\n' }));
  assert.notEqual(v3.version, v2.version, 'identical bytes re-uploaded still make a new version (fresh files)');
});

test('a refused re-install leaves the installed version untouched', async () => {
  const { registry, uploadDir } = makeRegistry({ max_files: 3 });
  const good = await registry.install('fn', await archiveOf({ 'f.py': 'good\n' }));
  await rejects(registry.install('fn', await archiveOf({ 'f.py': '1', 'a': '2', 'b': '3', 'c': '4' })), 413, /max_files/);
  await rejects(registry.install('fn', await archiveOf({ 'README': 'no code' })), 400, /no f\.py or ol\.yaml/);
  assert.deepEqual(await registry.lookup('fn'), good);
  assert.deepEqual(readdirSync(uploadDir), ['fn']);
});

test('concurrent installs of one name never leave a mixed or missing directory', async () => {
  const readOnly = writeTree(tempDir(), { 'fn/f.py': 'read-only\n' });
  // revalidate_ms 0: every lookup looks at the disk mid-swap (a remembered answer would prove
  // nothing, and a loop of them, never waiting for I/O, would starve the installs).
  const { registry, uploadDir } = makeRegistry({ dirs: [readOnly], revalidate_ms: 0 });
  const archives = await Promise.all(
    Array.from({ length: 8 }, (_, i) => archiveOf(Object.fromEntries([['f.py', `v${i}\n`], ...Array.from({ length: 20 }, (_, j) => [`m${j}.py`, `v${i}\n`])]))),
  );
  await registry.install('fn', archives[0]);
  let lookups = 0;
  let stop = false;
  const watcher = (async () => {
    while (!stop) {
      const got = await registry.lookup('fn');
      assert.equal(got?.codeDir, path.join(uploadDir, 'fn'), 'lookup never sees the upload missing during a swap');
      lookups++;
    }
  })();
  await Promise.all(archives.map((a) => registry.install('fn', a)));
  stop = true;
  await watcher;
  assert.ok(lookups > 0);

  const codeDir = path.join(uploadDir, 'fn');
  const contents = new Set(readdirSync(codeDir).map((f) => readFileSync(path.join(codeDir, f), 'utf8')));
  assert.equal(readdirSync(codeDir).length, 21);
  assert.equal(contents.size, 1, 'all files come from one archive');
  assert.deepEqual(readdirSync(uploadDir), ['fn']);
});

test('two registries (as two processes would) installing one name concurrently stay consistent', async () => {
  const a = makeRegistry();
  const b = new DirRegistry({}, workerPaths(path.join(a.root, 'worker')), silent);
  await Promise.all([a.registry.start(), b.start()]);
  const archive = (i: number) => archiveOf({ 'f.py': `v${i}\n`, 'g.py': `v${i}\n` });
  await Promise.all(Array.from({ length: 12 }, async (_, i) => (i % 2 ? a.registry : b).install('fn', await archive(i))));
  const codeDir = path.join(a.uploadDir, 'fn');
  assert.equal(readFileSync(path.join(codeDir, 'f.py'), 'utf8'), readFileSync(path.join(codeDir, 'g.py'), 'utf8'));
  assert.deepEqual(readdirSync(a.uploadDir), ['fn']);
});

test('remove() deletes uploads only; read-only functions give a clear 409', async () => {
  const examples = examplesDir();
  const { registry, uploadDir } = makeRegistry({ dirs: [examples] });
  await registry.install('mine', await archiveOf({ 'f.py': 'x\n' }));
  await registry.install('hello', await archiveOf({ 'f.py': 'shadow\n' }));

  assert.equal(await registry.remove('mine'), true);
  assert.equal(await registry.lookup('mine'), null);
  assert.equal(await registry.remove('mine'), false, 'absent: false');
  assert.equal(await registry.remove('never-there'), false);

  assert.equal(await registry.remove('hello'), true, 'removing the upload ...');
  assert.equal((await registry.lookup('hello'))?.codeDir, path.join(examples, 'hello'), '... uncovers the read-only one');
  await rejects(registry.remove('hello'), 409, /read-only directory .* upload a replacement/);
  assert.ok(existsSync(path.join(examples, 'hello/f.py')));
  assert.deepEqual(readdirSync(uploadDir), []);
});

test('invalid names: not found for lookup, a clear 400 for install and remove', async () => {
  const examples = examplesDir();
  const { registry, root } = makeRegistry({ dirs: [examples] });
  const bad = ['', '.', '..', '../hello', 'a/b', '.hidden', '-dash', 'bad name!', 'x'.repeat(65), 'nul\0', 'ünï'];
  for (const name of bad) assert.equal(await registry.lookup(name), null, JSON.stringify(name));
  assert.ok(await registry.lookup('x'.repeat(64)) === null, '64 chars is a valid (absent) name');
  const archive = await archiveOf({ 'f.py': 'x\n' });
  for (const name of bad) {
    await rejects(registry.install(name, archive), 400, /invalid function name/);
    await rejects(registry.remove(name), 400, /invalid function name/);
  }
  const uploads = path.join(root, 'worker/registry');
  assert.ok(!existsSync(uploads) || readdirSync(uploads).length === 0, 'nothing written for invalid names');
  assert.equal((await registry.install('A1_b.c-d', archive)).name, 'A1_b.c-d');
});

test('start() creates upload_dir and sweeps scratch left by a dead worker, not by a live one', async () => {
  const { registry, uploadDir } = makeRegistry();
  mkdirSync(path.join(uploadDir, '.tmp-99999999-aa-fn/sub'), { recursive: true });
  mkdirSync(path.join(uploadDir, '.old-99999999-bb-fn'));
  mkdirSync(path.join(uploadDir, `.tmp-${process.ppid}-cc-fn`));
  writeTree(uploadDir, { 'kept/f.py': 'x\n' });
  await registry.start();
  assert.deepEqual(readdirSync(uploadDir).sort(), [`.tmp-${process.ppid}-cc-fn`, 'kept']);
});

test('upload_dir can be set; writable is true', async () => {
  const dir = path.join(tempDir(), 'uploads');
  const { registry } = makeRegistry({ upload_dir: dir });
  assert.equal(registry.writable, true);
  const got = await registry.install('fn', await archiveOf({ 'f.py': 'x\n' }));
  assert.equal(got.codeDir, path.join(dir, 'fn'));
});

test('through the kernel: config defaults and unknown keys, one instance behind the extension point', async () => {
  const root = tempDir();
  const examples = examplesDir();
  const boot = async (section: Record<string, unknown>) => {
    const c = container.createChildContainer();
    c.registerInstance(Tokens.WorkerPaths, workerPaths(path.join(root, 'worker')));
    c.registerInstance(Tokens.Logger, silent);
    const config: any = { plugins: [path.resolve(__dirname, '..')], select: {}, 'registry-dir': section };
    const kernel = new Kernel(c, config, silent);
    await kernel.boot();
    return { kernel, config, registry: c.resolve<FunctionRegistry>(FunctionRegistryPoint.token) };
  };

  const { kernel, config, registry } = await boot({ dirs: [examples] });
  assert.deepEqual(config['registry-dir'], { dirs: [examples], max_archive_bytes: 50 * 2 ** 20, max_unpacked_bytes: 200 * 2 ** 20, max_files: 10000, revalidate_ms: 1000 });
  assert.ok(existsSync(path.join(root, 'worker/registry')), 'start() ran on the instance that serves requests');
  await registry.install!('up', await archiveOf({ 'f.py': 'x\n' }));
  assert.deepEqual(await registry.list(), ['configured', 'hello', 'up']);
  await kernel.shutdown();

  await assert.rejects(boot({ dir: [examples] }), (e: unknown) => e instanceof ConfigError && /registry-dir\.dir: unknown key/.test(e.message));
});
