import 'reflect-metadata';
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, linkSync, lstatSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { RegistryError } from '../registry-error';
import { archiveOf, makeRegistry, rawTarGz, tarGz, tempDir, writeTree, type RawEntry } from './fixtures';

const F_PY: RawEntry = { path: 'f.py', body: 'def f(e):\n    return 1\n' };

/** Every path under `dir`, relative, for before/after comparisons. */
function tree(dir: string): string[] {
  return execFileSync('find', [dir, '-mindepth', '1'], { encoding: 'utf8' }).split('\n').filter(Boolean).map((p) => path.relative(dir, p)).sort();
}

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/**
 * Installs `archive` into a fresh registry and expects a RegistryError with
 * `status`; then proves nothing changed anywhere under the test's temp root
 * except the (empty) upload dir, and the named outside files are intact.
 */
async function refuses(archive: Buffer, status: number, message: RegExp, config = {}, outside: string[] = []) {
  const { registry, root, uploadDir } = makeRegistry(config);
  await registry.start();
  const before = tree(root);
  const hashes = outside.map((f) => existsSync(f) && sha(f));
  await assert.rejects(registry.install('fn', archive), (e: unknown) => {
    assert.ok(e instanceof RegistryError, `expected a RegistryError, got ${String(e)}`);
    assert.equal(e.status, status, e.message);
    assert.match(e.message, message);
    return true;
  });
  assert.deepEqual(tree(root), before, 'nothing written under the test root');
  assert.deepEqual(readdirSync(uploadDir), [], 'no scratch dirs remain');
  assert.deepEqual(outside.map((f) => existsSync(f) && sha(f)), hashes, 'files outside untouched');
  assert.equal(await registry.lookup('fn'), null);
}

test('path traversal: ".." components are refused and nothing lands outside', async () => {
  const root = tempDir();
  for (const evil of ['../evil', '../../evil', '../../../evil', 'sub/../../evil', './../evil']) {
    await refuses(rawTarGz([F_PY, { path: evil, body: 'pwned' }]), 400, /'\.\.' component/);
  }
  // node-tar itself writes such entries when told to preserve paths.
  const src = writeTree(path.join(root, 'src'), { 'f.py': 'x\n' });
  writeFileSync(path.join(root, 'evil'), 'outside');
  await refuses(await tarGz(src, ['f.py', '../evil'], { preservePaths: true }), 400, /'\.\.' component/, {}, [path.join(root, 'evil')]);
});

test('absolute paths are refused', async () => {
  const target = path.join(tempDir(), 'abs-evil');
  await refuses(rawTarGz([F_PY, { path: target, body: 'pwned' }]), 400, /absolute path/);
  assert.equal(existsSync(target), false);
  await refuses(rawTarGz([F_PY, { path: '/etc/passwd', body: 'root::0:0::/:/bin/sh\n' }]), 400, /absolute path/, {}, ['/etc/passwd']);
});

test('symlinks are refused, including the symlink-then-write-through trick', async () => {
  await refuses(rawTarGz([F_PY, { path: 'passwd', type: 'SymbolicLink', linkpath: '/etc/passwd' }]), 400, /symbolic link/, {}, ['/etc/passwd']);
  await refuses(
    rawTarGz([F_PY, { path: 'p', type: 'SymbolicLink', linkpath: '/etc' }, { path: 'p/passwd', body: 'pwned' }]),
    400,
    /symbolic link/,
    {},
    ['/etc/passwd'],
  );
  // A symlink as a real tool packs it.
  const src = writeTree(tempDir(), { 'f.py': 'x\n' });
  symlinkSync('/etc/passwd', path.join(src, 'passwd'));
  await refuses(execFileSync('tar', ['czf', '-', '-C', src, '.']), 400, /"\.\/passwd" is a symbolic link/);
});

test('hard links are refused', async () => {
  const nlink = lstatSync('/etc/passwd').nlink;
  await refuses(rawTarGz([F_PY, { path: 'h', type: 'Link', linkpath: '/etc/passwd' }]), 400, /hard link/, {}, ['/etc/passwd']);
  await refuses(rawTarGz([F_PY, { path: 'h', type: 'Link', linkpath: 'f.py' }]), 400, /hard link/);
  assert.equal(lstatSync('/etc/passwd').nlink, nlink);
  const src = writeTree(tempDir(), { 'f.py': 'x\n' });
  linkSync(path.join(src, 'f.py'), path.join(src, 'g.py'));
  await refuses(execFileSync('tar', ['czf', '-', '-C', src, 'f.py', 'g.py']), 400, /"g\.py" is a hard link/);
});

test('device files, FIFOs and other special entries are refused', async () => {
  await refuses(rawTarGz([F_PY, { path: 'null', type: 'CharacterDevice' }]), 400, /device file/);
  await refuses(rawTarGz([F_PY, { path: 'sda', type: 'BlockDevice' }]), 400, /device file/);
  await refuses(rawTarGz([F_PY, { path: 'pipe', type: 'FIFO' }]), 400, /FIFO/);
  const src = writeTree(tempDir(), { 'f.py': 'x\n' });
  execFileSync('mkfifo', [path.join(src, 'pipe')]);
  execFileSync('mknod', [path.join(src, 'null'), 'c', '1', '3']);
  await refuses(execFileSync('tar', ['czf', '-', '-C', src, 'f.py', 'pipe']), 400, /FIFO/);
  await refuses(execFileSync('tar', ['czf', '-', '-C', src, 'f.py', 'null']), 400, /device file/);
});

test('size limits: archive bytes, unpacked bytes (also when a header lies), file count, gzip bombs: 413', async () => {
  const big = await archiveOf({ 'f.py': 'x\n', 'data.bin': Buffer.alloc(2 * 2 ** 20, 7) });
  await refuses(big, 413, /max_unpacked_bytes/, { max_unpacked_bytes: 2 ** 20 });
  await refuses(rawTarGz([F_PY, { path: 'huge', size: 10 * 2 ** 30 }]), 413, /max_unpacked_bytes/, { max_unpacked_bytes: 2 ** 20 });
  await refuses(big, 413, /over the \d+-byte limit \(max_archive_bytes\)/, { max_archive_bytes: 1000 });
  await refuses(await archiveOf({ 'f.py': '', a: '', b: '', c: '' }), 413, /more than 3 entries \(max_files\)/, { max_files: 3 });
  // Zeros after the end-of-archive blocks: no entry is large, the stream is.
  await refuses(rawTarGz([F_PY], 64 * 2 ** 20), 413, /decompresses to more than/, { max_unpacked_bytes: 2 ** 20, max_files: 10 });
  // Within limits it installs, and the limit counts file bytes, not tar overhead.
  const { registry } = makeRegistry({ max_unpacked_bytes: 2 * 2 ** 20 + 2, max_files: 2 });
  assert.equal(lstatSync(path.join((await registry.install('fn', big)).codeDir, 'data.bin')).size, 2 * 2 ** 20);
});

test('not gzip, corrupt, truncated or empty archives and archives without code: 400', async () => {
  const good = await archiveOf({ 'f.py': 'x\n' });
  await refuses(Buffer.from('PK\x03\x04 a zip file'), 400, /not gzip-compressed/);
  await refuses(execFileSync('tar', ['cf', '-', '-C', writeTree(tempDir(), { 'f.py': 'x\n' }), '.']), 400, /not gzip-compressed/);
  await refuses(good.subarray(0, good.length - 12), 400, /not a valid gzip stream/);
  await refuses(gzipSync(Buffer.from('just some text, not a tar archive'.repeat(40))), 400, /not a valid tar archive/);
  await refuses(gzipSync(Buffer.alloc(0)), 400, /not a valid tar archive/);
  await refuses(rawTarGz([{ path: 'README.md', body: 'hi' }]), 400, /no f\.py or ol\.yaml/);
  await refuses(rawTarGz([{ path: 'a/f.py', body: 'x' }, { path: 'b/f.py', body: 'x' }]), 400, /no f\.py or ol\.yaml/);
});

test('a large legitimate archive streams through both passes', async () => {
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < 40; i++) files[`blob${i}.bin`] = Buffer.alloc(2 ** 20, i);
  files['f.py'] = Buffer.from('x\n');
  const { registry } = makeRegistry();
  const got = await registry.install('big', await archiveOf(files));
  assert.equal(readdirSync(got.codeDir).length, 41);
  assert.equal(readFileSync(path.join(got.codeDir, 'blob39.bin'))[2 ** 20 - 1], 39);
});
