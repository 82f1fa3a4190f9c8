import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { EXAMPLES, REPO, TEST_FUNCTIONS, startWorker, type RunningWorker } from '../../../test/helpers/worker-fixture';
import { IndexServer } from './helpers/index-server';
import { functionDir } from './helpers/resolver-fixture';

const index = new IndexServer();
let fnRoot: string;
let w: RunningWorker;

const REPORT = `
import sys
def versions(*mods):
    return {m.__name__: m.VERSION for m in mods}
`;

before(async () => {
  await index.start();
  for (const v of ['1.0', '1.5', '2.0']) index.publish({ name: 'Web_Kit', version: v, extras: ['socks'], requires: ['pysocks>=1.6 ; extra == "socks"'] });
  for (const v of ['1.5', '1.7']) index.publish({ name: 'pysocks', version: v });
  index.publish({ name: 'lib', version: '1.0' });
  index.publish({ name: 'lib', version: '2.1' });
  fnRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'olpkgfn-'));
  functionDir(fnRoot, 'withextra', {
    'requirements.txt': '# a range and an extra\nweb-kit[socks]>=1.0,<2.0\n',
    'f.py': `import sys, web_kit, pysocks\ndef f(event):\n    return {"web_kit": web_kit.VERSION, "pysocks": pysocks.VERSION, "path": [p for p in sys.path if p.startswith("/packages")]}\n`,
  });
  functionDir(fnRoot, 'libone', { 'ol.yaml': 'packages: ["lib==1.0"]\n', 'f.py': 'import lib\ndef f(event):\n    return lib.VERSION\n' });
  functionDir(fnRoot, 'libtwo', { 'f.py': '# ol-install: lib>=2\nimport lib\ndef f(event):\n    return lib.VERSION\n' });
  functionDir(fnRoot, 'lockme', { 'requirements.txt': 'web-kit>=1.0,<2.0\n', 'f.py': 'import web_kit\ndef f(event):\n    return web_kit.VERSION\n' });
  functionDir(fnRoot, 'conflict', { 'requirements.txt': 'web-kit[socks]==1.5\npysocks<1.6\n', 'f.py': 'def f(event):\n    return 1\n' });
  w = await startWorker([`registry-dir.dirs=[${EXAMPLES}, ${TEST_FUNCTIONS}, ${fnRoot}]`, `pypi.index_url=${index.url}`]);
});

after(async () => {
  await w?.stop();
  await index.stop();
  fs.rmSync(fnRoot, { recursive: true, force: true });
});

test('a function with a range and an extra in requirements.txt imports the right versions through /run', async () => {
  const r = await w.run('withextra', {});
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { web_kit: '1.5', pysocks: '1.7', path: ['/packages/pysocks-1.7', '/packages/web-kit-1.5'] });
});

test('two functions using different versions of one package run side by side', async () => {
  const [one, two] = await Promise.all([w.run('libone', {}), w.run('libtwo', {})]);
  assert.equal(one.status, 200, one.text);
  assert.equal(two.status, 200, two.text);
  assert.equal(one.json, '1.0');
  assert.equal(two.json, '2.1');
  const store = (await w.admin('GET', '/packages')).json;
  const libs = store.packages.filter((p: any) => p.name === 'lib').map((p: any) => [p.version, p.in_use]);
  assert.deepEqual(libs, [['1.0', true], ['2.1', true]]);
  assert.ok(store.used_bytes > 0 && store.used_bytes <= store.budget_bytes);
});

test('concurrent first requests resolve and install a function\'s packages once', async () => {
  index.publish({ name: 'solo', version: '1.0' });
  functionDir(fnRoot, 'fresh', { 'requirements.txt': 'solo\n', 'f.py': 'import solo\ndef f(event):\n    return solo.VERSION\n' });
  const replies = await Promise.all([1, 2, 3, 4, 5, 6].map(() => w.run('fresh', {})));
  assert.deepEqual(replies.map((r) => [r.status, r.json]), Array(6).fill([200, '1.0']));
  assert.equal(index.hits.get('/simple/solo/'), 1);
  assert.equal(index.hits.get('/files/solo-1.0-py3-none-any.whl'), 1);
});

test('the resolution is reported on the admin API, ready to freeze as ol.lock', async () => {
  await w.run('withextra', {});
  const r = await w.admin('GET', '/packages/functions/withextra');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.locked, false);
  assert.deepEqual(r.json.lock.requirements, ['web-kit[socks]>=1.0,<2.0']);
  assert.deepEqual(r.json.lock.packages.map((p: any) => [p.name, p.version, p.sha256]), [
    ['pysocks', '1.7', index.files.get('pysocks-1.7-py3-none-any.whl')!.sha256],
    ['web-kit', '1.5', index.files.get('web_kit-1.5-py3-none-any.whl')!.sha256],
  ]);
  const missing = await w.admin('GET', '/packages/functions/nothere');
  assert.equal(missing.status, 404);
  assert.match(missing.json.error.message, /no package resolution is known for "nothere"/);
});

test('a conflict reaches the caller as a 422 that says what to change', async () => {
  const r = await w.run('conflict', {});
  assert.equal(r.status, 422, r.text);
  assert.match(r.json.error.message, /function "conflict": cannot find package versions .*web-kit 1\.5 needs pysocks>=1\.6, but the function needs pysocks<1\.6/s);
});

test('POST /packages/lock resolves requirements into a lock document', async () => {
  const r = await w.admin('POST', '/packages/lock', JSON.stringify({ requirements: ['lib<2'] }));
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.packages.map((p: any) => `${p.name}==${p.version}`), ['lib==1.0']);
  assert.equal(r.json.python.tag.startsWith('cp311-cp311-manylinux'), true);
  const bad = await w.admin('POST', '/packages/lock', 'nope');
  assert.equal(bad.status, 400);
});

const ol = (...args: string[]) => promisify(execFile)(process.execPath, [path.join(REPO, 'dist/core/cli/main.js'), ...args]);

test('`ol pkg lock` writes ol.lock; the function then installs exactly that, even when newer versions appear', async () => {
  const dir = path.join(fnRoot, 'lockme');
  const { stdout } = await ol('pkg', 'lock', dir, '-p', w.dir);
  assert.match(stdout, /wrote .*ol\.lock:\n  web-kit==1\.5/);
  const lock = JSON.parse(fs.readFileSync(path.join(dir, 'ol.lock'), 'utf8'));
  assert.deepEqual(lock.packages.map((p: any) => [p.name, p.version, p.file]), [['web-kit', '1.5', 'web_kit-1.5-py3-none-any.whl']]);
  index.publish({ name: 'Web_Kit', version: '1.9' });
  const r = await w.run('lockme', {});
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json, '1.5');
  const report = await ol('pkg', 'report', 'lockme', '-p', w.dir);
  assert.equal(JSON.parse(report.stdout).locked, true);
  // Freezing what the worker chose for an unlocked function.
  const frozen = fs.mkdtempSync(path.join(os.tmpdir(), 'olfreeze-'));
  await ol('pkg', 'report', 'withextra', '-p', w.dir, '--write', frozen);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(frozen, 'ol.lock'), 'utf8')).requirements, ['web-kit[socks]>=1.0,<2.0']);
  fs.rmSync(frozen, { recursive: true });
  await assert.rejects(ol('pkg', 'lock', path.join(fnRoot, 'conflict'), '-p', w.dir), /error 422.*web-kit 1\.5 needs pysocks>=1\.6/s);
});

test('with an unreachable index, functions with packages answer 503 naming the setting; others still run', async () => {
  const w2 = await startWorker([`registry-dir.dirs=[${EXAMPLES}, ${fnRoot}]`, 'pypi.index_url=http://127.0.0.1:9/simple', 'pypi.timeout_ms=2000']);
  try {
    const r = await w2.run('libone', {});
    assert.equal(r.status, 503, r.text);
    assert.match(r.json.error.message, /function "libone": cannot reach the package index at http:\/\/127\.0\.0\.1:9\/simple\/lib\//);
    assert.match(r.json.error.hint, /pypi\.index_url/);
    assert.equal((await w2.run('echo', { a: 1 })).status, 200);
  } finally {
    await w2.stop();
  }
});
