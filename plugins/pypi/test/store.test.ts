import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import pino from 'pino';
import { PackageStore } from '../package-store';
import { PACKAGES_MOUNT, PackageMounts } from '../package-mounts';
import { buildWheel } from './helpers/wheel-builder';
import { IndexServer } from './helpers/index-server';
import { functionDir, makeResolver } from './helpers/resolver-fixture';

const index = new IndexServer();
const KiB = 1024;

before(async () => {
  await index.start();
  // Random bytes do not compress: each installed version takes about 600 KiB.
  for (const v of ['1', '2', '3']) index.publish({ name: 'big', version: v, files: { 'big/__init__.py': `VERSION = "${v}"\n`, 'big/blob.bin': randomBytes(600 * KiB).toString('latin1') } });
});
after(() => index.stop());

const storeKeys = (s: PackageStore) => s.usage().packages.map((p) => `${p.name}-${p.version}`);

test('past the disk budget, least recently used versions no function or sandbox needs are evicted', async () => {
  const r = makeResolver({ index_url: index.url, store_budget_mb: 1 });
  try {
    const fn = functionDir(r.dir, 'fn', { 'f.py': 'def f(e): pass\n' });
    const store = r.resolver.store;
    await r.resolver.resolve('a', ['big==1'], fn);
    await r.resolver.resolve('b', ['big==2'], fn);
    // Both in use by a loaded function: kept even though over budget (and reported as such).
    assert.deepEqual(storeKeys(store), ['big-1', 'big-2']);
    assert.ok(store.usage().used_bytes > store.usage().budget_bytes);
    // A live sandbox of "b" keeps big 2 even once "b" moves on to big 3.
    const mounts = new PackageMounts(r.resolver);
    const fnB = { packages: { paths: [store.dirOf('big', '2')] } } as any;
    const additions = await mounts.prepare(fnB, 'sb1');
    assert.deepEqual(additions.pythonPaths, [`${PACKAGES_MOUNT}/big-2`]);
    assert.deepEqual(additions.mounts, [{ source: store.dirOf('big', '2'), target: `${PACKAGES_MOUNT}/big-2` }]);
    await r.resolver.resolve('a', ['big==3'], fn);
    await r.resolver.resolve('b', ['big==3'], fn);
    assert.deepEqual(storeKeys(store), ['big-2', 'big-3']);
    await mounts.release('sb1');
    await store.evict();
    assert.deepEqual(storeKeys(store), ['big-3']);
    assert.equal(fs.existsSync(store.dirOf('big', '1')), false);
    assert.equal(fs.existsSync(store.dirOf('big', '2')), false);
    assert.equal(fs.readFileSync(path.join(store.dirOf('big', '3'), 'big/__init__.py'), 'utf8'), 'VERSION = "3"\n');
    // Once the worker forgets both functions (removed or idle), nothing protects big 3 either.
    r.resolver.forget('a');
    r.resolver.forget('b');
    await r.resolver.resolve('c', ['big==1'], fn);
    assert.deepEqual(storeKeys(store), ['big-1']);
  } finally {
    r.cleanup();
  }
});

test('concurrent installs of one version unpack it once; a restarted store finds it again', async () => {
  const r = makeResolver({ index_url: index.url });
  try {
    const store = r.resolver.store;
    const wheel = buildWheel({ name: 'once', version: '1.0' });
    let fetches = 0;
    const fetchWheel = async () => {
      fetches++;
      return { data: wheel.data, filename: wheel.filename };
    };
    const dirs = await Promise.all([1, 2, 3, 4, 5].map(() => store.ensure('once', '1.0', fetchWheel)));
    assert.equal(fetches, 1);
    assert.equal(new Set(dirs).size, 1);
    const mode = fs.statSync(path.join(dirs[0], 'once/__init__.py')).mode & 0o777;
    assert.equal(mode, 0o644, 'installed files are readable by the sandbox user, writable by nobody else');
    const again = new PackageStore(store.dir, 1024 * KiB, pino({ level: 'silent' }));
    await again.init();
    assert.deepEqual(storeKeys(again), ['once-1.0']);
    assert.equal((await again.metadata('once', '1.0'))?.version, '1.0');
  } finally {
    r.cleanup();
  }
});

test('a warm resolution downloads no wheel again (metadata comes from the store)', async () => {
  const r = makeResolver({ index_url: index.url });
  try {
    const fn = functionDir(r.dir, 'fn', { 'f.py': 'def f(e): pass\n' });
    await r.resolver.resolve('a', ['big==1'], fn);
    const downloads = index.hits.get('/files/big-1-py3-none-any.whl');
    await r.resolver.resolve('other', ['big>=1,<2'], fn);
    assert.equal(index.hits.get('/files/big-1-py3-none-any.whl'), downloads);
  } finally {
    r.cleanup();
  }
});
