import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { unpackSdist } from '../sdist-unpack';
import { buildSdist, writeTarGz, type TarInput } from './helpers/sdist-writer';
import { writeZip } from './helpers/zip-writer';

const MiB = 1024 * 1024;

function scratch(): { dir: string; dest: string; done(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'olsdist-'));
  const dest = path.join(dir, 'src');
  fs.mkdirSync(dest);
  return { dir, dest, done: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

test('an sdist unpacks to its name-version directory with files and modes', async () => {
  const s = scratch();
  try {
    const root = await unpackSdist(buildSdist('demo', '1.0', { 'setup.py': 'print(1)\n', 'demo/__init__.py': 'X = 1\n' }), 'demo-1.0.tar.gz', s.dest, MiB);
    assert.equal(root, path.join(s.dest, 'demo-1.0'));
    assert.equal(fs.readFileSync(path.join(root, 'demo/__init__.py'), 'utf8'), 'X = 1\n');
    assert.equal(fs.statSync(path.join(root, 'setup.py')).mode & 0o777, 0o644);
    fs.mkdirSync(path.join(s.dir, 'z'));
    const zipRoot = await unpackSdist(writeZip([{ name: 'z-2.0/setup.py', data: 'pass\n' }]), 'z-2.0.zip', path.join(s.dir, 'z'), MiB);
    assert.equal(fs.readFileSync(path.join(zipRoot, 'setup.py'), 'utf8'), 'pass\n');
  } finally {
    s.done();
  }
});

const evil: [string, TarInput, RegExp][] = [
  ['a ../ name', { name: 'x-1.0/../../escaped.py', data: 'x' }, /entry "x-1\.0\/\.\.\/\.\.\/escaped\.py" points outside the source directory/],
  ['an absolute name', { name: '/etc/cron.d/evil', data: 'x' }, /entry "\/etc\/cron\.d\/evil" has an absolute path/],
  ['a symlink', { name: 'x-1.0/link', type: '2', linkname: '/etc/passwd' }, /entry "x-1\.0\/link" is a symbolic link/],
  ['a hard link', { name: 'x-1.0/hard', type: '1', linkname: 'x-1.0/setup.py' }, /entry "x-1\.0\/hard" is a hard link/],
];

for (const [what, entry, message] of evil) {
  test(`an sdist with ${what} is refused and writes nothing outside its directory`, async () => {
    const s = scratch();
    try {
      const tar = writeTarGz([{ name: 'x-1.0/setup.py', data: 'pass\n' }, entry]);
      await assert.rejects(unpackSdist(tar, 'x-1.0.tar.gz', s.dest, MiB), (e: any) => message.test(e.message) && /refusing to build x-1\.0\.tar\.gz/.test(e.message));
      assert.deepEqual(fs.readdirSync(s.dir), ['src']);
      assert.equal(fs.existsSync('/etc/cron.d/evil'), false);
    } finally {
      s.done();
    }
  });
}

test('an sdist that unpacks past the size limit is refused', async () => {
  const s = scratch();
  try {
    const tar = writeTarGz([{ name: 'big-1.0/blob', data: Buffer.alloc(2 * MiB) }]);
    await assert.rejects(unpackSdist(tar, 'big-1.0.tar.gz', s.dest, MiB), /refusing to build big-1\.0\.tar\.gz: it unpacks to more than 1048576 bytes/);
  } finally {
    s.done();
  }
});
