import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IndexServer } from './helpers/index-server';
import { buildWheel } from './helpers/wheel-builder';
import { functionDir, makeResolver } from './helpers/resolver-fixture';

const index = new IndexServer();

before(async () => {
  await index.start();
  // Backtracking: the newest app needs lib<2, an older one accepts lib 2.x.
  index.publish({ name: 'app', version: '2.0', requires: ['lib<2'] });
  index.publish({ name: 'app', version: '1.0', requires: ['lib>=2'] });
  index.publish({ name: 'lib', version: '1.0' });
  index.publish({ name: 'lib', version: '2.1' });
  // Extras and markers.
  index.publish({ name: 'Web_Kit', version: '1.5', extras: ['socks'], requires: ['PySocks>=1.0 ; extra == "socks"', 'oldpy ; python_version < "3.8"', 'linuxonly (>=1.0) ; sys_platform == "linux"'] });
  index.publish({ name: 'pysocks', version: '1.7' });
  index.publish({ name: 'linuxonly', version: '1.0' });
  // Yanked and pre-releases.
  index.publish({ name: 'yanky', version: '1.0' });
  index.publish({ name: 'yanky', version: '1.1', yanked: 'broken build' });
  index.publish({ name: 'pre', version: '1.0' });
  index.publish({ name: 'pre', version: '2.0b1' });
  index.publish({ name: 'onlypre', version: '1.0rc1' });
  // Conflicts, sdists, Python versions.
  index.publish({ name: 'stubborn', version: '2.0', requires: ['lib<2'] });
  index.publishSdist('sourceonly', '1.0', { 'setup.py': 'from setuptools import setup\nsetup(name="sourceonly", version="1.0")\n' });
  // A wheel and an sdist of one version: the wheel is used (the sdist's build would fail).
  index.publish({ name: 'both', version: '1.0' });
  index.publishSdist('both', '1.0', { 'setup.py': 'raise SystemExit("never built")\n' });
  index.publish({ name: 'future', version: '2.0', requiresPython: '>=3.99' });
  index.publish({ name: 'future', version: '1.0' });
  index.publish({ name: 'native', version: '1.0', tag: 'cp311-cp311-win_amd64' });
});
after(() => index.stop());

async function pins(reqs: string[], url = index.url): Promise<string[]> {
  const r = makeResolver({ index_url: url });
  try {
    return (await r.resolver.lock(reqs)).packages.map((p) => `${p.name}==${p.version}`);
  } finally {
    r.cleanup();
  }
}

async function failure(reqs: string[]): Promise<Error & { status?: number; hint?: string }> {
  const r = makeResolver({ index_url: index.url });
  try {
    await r.resolver.lock(reqs);
  } catch (e) {
    return e as Error;
  } finally {
    r.cleanup();
  }
  throw new Error(`expected ${reqs.join(', ')} to fail`);
}

test('backtracks to an older version when the newest conflicts with a pin (JSON index)', async () => {
  assert.deepEqual(await pins(['app', 'lib==2.1']), ['app==1.0', 'lib==2.1']);
  assert.deepEqual(await pins(['app']), ['app==2.0', 'lib==1.0']);
});

test('the HTML (PEP 503) form of the index gives the same resolution', async () => {
  assert.deepEqual(await pins(['app', 'lib==2.1'], index.htmlUrl), ['app==1.0', 'lib==2.1']);
});

test('extras pull their dependencies; markers are evaluated for the sandbox Python', async () => {
  assert.deepEqual(await pins(['web-kit[socks]>=1.0,<2']), ['linuxonly==1.0', 'pysocks==1.7', 'web-kit==1.5']);
  assert.deepEqual(await pins(['web-kit']), ['linuxonly==1.0', 'web-kit==1.5']);
  // A requirement of the function whose marker is false is skipped.
  assert.deepEqual(await pins(['lib==1.0', 'app ; python_version < "3.0"']), ['lib==1.0']);
});

test('an extra asked for later adds its dependencies to an already chosen package', async () => {
  assert.deepEqual(await pins(['web-kit', 'Web.Kit[SOCKS]']), ['linuxonly==1.0', 'pysocks==1.7', 'web-kit==1.5']);
});

test('yanked versions are skipped unless pinned exactly', async () => {
  assert.deepEqual(await pins(['yanky']), ['yanky==1.0']);
  assert.deepEqual(await pins(['yanky>=1.0']), ['yanky==1.0']);
  assert.deepEqual(await pins(['yanky==1.1']), ['yanky==1.1']);
});

test('pre-releases only when named by a specifier or when nothing else fits', async () => {
  assert.deepEqual(await pins(['pre']), ['pre==1.0']);
  assert.deepEqual(await pins(['pre>=2.0b1']), ['pre==2.0b1']);
  assert.deepEqual(await pins(['onlypre']), ['onlypre==1.0rc1']);
});

test('Requires-Python and platform tags exclude files', async () => {
  assert.deepEqual(await pins(['future']), ['future==1.0']);
  const e = await failure(['native']);
  assert.match(e.message, /no version of native has a usable wheel .*other platforms/);
});

test('an unresolvable conflict is explained in terms of who needs what', async () => {
  const e = await failure(['stubborn', 'lib==2.1']);
  assert.equal(e.status, 422);
  assert.match(e.message, /stubborn 2\.0 needs lib<2, but the function needs lib==2\.1/);
  assert.match(e.hint ?? '', /relax or change/);
});

test('a version with only an sdist needs a build sandbox; one with a wheel too uses the wheel; unknown projects are named', async () => {
  const e = await failure(['sourceonly']);
  assert.equal(e.status, 503);
  assert.match(e.message, /sourceonly 1\.0 publishes only an sdist, and building it needs a sandbox backend/);
  const r = makeResolver({ index_url: index.url });
  try {
    assert.deepEqual((await r.resolver.lock(['both'])).packages.map((p) => p.file), ['both-1.0-py3-none-any.whl']);
  } finally {
    r.cleanup();
  }
  assert.match((await failure(['nosuchthing>=1'])).message, /the function needs nosuchthing>=1, but no configured index has a package named "nosuchthing"/);
  assert.match((await failure(['lib>=5'])).message, /no version of lib fits \(available: 2\.1, 1\.0\)/);
});

test('invalid requirement lines are rejected with the line', async () => {
  assert.match((await failure(['lib >= = 1'])).message, /"lib >= = 1" is not a PEP 508 requirement/);
});

test('an unreachable index is a 503 that names the URL and the setting', async () => {
  const r = makeResolver({ index_url: 'http://127.0.0.1:9/simple', timeout_ms: 2000 });
  try {
    await assert.rejects(r.resolver.lock(['lib']), (e: any) => e.status === 503 && /cannot reach the package index at http:\/\/127\.0\.0\.1:9\/simple\/lib\//.test(e.message) && /pypi\.index_url/.test(e.hint));
  } finally {
    r.cleanup();
  }
});

test('a lock installs exactly its files; a changed file fails the hash check', async () => {
  const r = makeResolver({ index_url: index.url });
  try {
    index.publish({ name: 'drifty', version: '1.0' });
    const lock = await r.resolver.lock(['drifty']);
    assert.equal(lock.packages[0].sha256, index.files.get('drifty-1.0-py3-none-any.whl')!.sha256);
    const fn = functionDir(r.dir, 'locked', { 'f.py': 'def f(e): pass\n', 'ol.lock': JSON.stringify(lock) });
    index.replace('drifty-1.0-py3-none-any.whl', { name: 'drifty', version: '1.0', files: { 'drifty/__init__.py': 'EVIL = 1\n' } });
    await assert.rejects(r.resolver.resolve('locked', ['drifty'], fn), (e: any) => e.status === 422 && /hash mismatch for drifty-1\.0-py3-none-any\.whl: ol\.lock expects sha256 [0-9a-f]{64}, the index served/.test(e.message));
    await assert.rejects(r.resolver.resolve('locked', ['drifty', 'lib'], fn), /ol\.lock was made for the requirements \[drifty\] but the function now asks for \[drifty, lib\]/);
  } finally {
    r.cleanup();
  }
});

test('a wheel with a path-traversal entry or a symlink is refused and writes nothing outside the store', async () => {
  index.publish({ name: 'evil', version: '1.0', extraEntries: [{ name: 'evil/../../escaped.py', data: 'x = 1\n' }] });
  index.publish({ name: 'linky', version: '1.0', extraEntries: [{ name: 'linky/passwd', data: '/etc/passwd', mode: 0o120777 }] });
  const r = makeResolver({ index_url: index.url });
  try {
    const fn = functionDir(r.dir, 'fn', { 'f.py': 'def f(e): pass\n' });
    await assert.rejects(r.resolver.resolve('fn', ['evil'], fn), /refusing to install evil-1\.0-py3-none-any\.whl: entry "evil\/\.\.\/\.\.\/escaped\.py" points outside the package directory/);
    await assert.rejects(r.resolver.resolve('fn', ['linky'], fn), /refusing to install linky-1\.0-py3-none-any\.whl: entry "linky\/passwd" is a symbolic link/);
    assert.equal(fs.existsSync(path.join(r.dir, 'escaped.py')), false);
    assert.deepEqual(fs.readdirSync(path.join(r.dir, 'packages')), []);
  } finally {
    r.cleanup();
  }
});

test('a local wheel directory is one more source, installed like any other', async () => {
  const r = makeResolver({ index_url: index.url });
  const wheels = path.join(r.dir, 'wheels');
  fs.mkdirSync(wheels);
  for (const v of ['0.9', '1.2']) {
    const w = buildWheel({ name: 'localonly', version: v, requires: ['lib<2'] });
    fs.writeFileSync(path.join(wheels, w.filename), w.data);
  }
  const local = makeResolver({ index_url: index.url, wheel_dir: wheels });
  try {
    const fn = functionDir(local.dir, 'fn', { 'f.py': 'def f(e): pass\n' });
    const res = await local.resolver.resolve('fn', ['localonly>=1'], fn);
    assert.deepEqual(res.pins, ['lib==1.0', 'localonly==1.2']);
    assert.equal(fs.readFileSync(path.join(res.paths[1], 'localonly/__init__.py'), 'utf8'), 'VERSION = "1.2"\n');
    assert.match(local.resolver.report('fn')!.lock.packages[1].sha256, /^[0-9a-f]{64}$/);
  } finally {
    local.cleanup();
    r.cleanup();
  }
});

test('a wheel whose files do not match its RECORD is refused, and nothing of it is installed', async () => {
  index.publish({ name: 'tampered', version: '1.0', tampered: { 'tampered/__init__.py': 'import os; os.system("evil")\n' } });
  index.publish({ name: 'unlisted', version: '1.0', unrecorded: [{ name: 'unlisted/extra.py', data: 'x = 1\n' }] });
  index.publish({ name: 'resized', version: '1.0', files: { 'resized/__init__.py': 'VERSION = "1.0"\n' } });
  const r = makeResolver({ index_url: index.url });
  try {
    const fn = functionDir(r.dir, 'fn', { 'f.py': 'def f(e): pass\n' });
    await assert.rejects(r.resolver.resolve('fn', ['tampered'], fn), (e: any) =>
      e.status === 422 && /refusing to install tampered-1\.0-py3-none-any\.whl: "tampered\/__init__\.py" does not match its sha256 hash in tampered-1\.0\.dist-info\/RECORD/.test(e.message) && /tampered with/.test(e.hint));
    await assert.rejects(r.resolver.resolve('fn', ['unlisted'], fn), /refusing to install unlisted-1\.0-py3-none-any\.whl: "unlisted\/extra\.py" is not listed with a hash in unlisted-1\.0\.dist-info\/RECORD/);
    assert.deepEqual(fs.readdirSync(path.join(r.dir, 'packages')), []);
    // The checks pass for an intact wheel (RECORD itself is not hashed).
    const ok = await r.resolver.resolve('fn', ['resized'], fn);
    assert.equal(fs.readFileSync(path.join(ok.paths[0], 'resized/__init__.py'), 'utf8'), 'VERSION = "1.0"\n');
  } finally {
    r.cleanup();
  }
});
