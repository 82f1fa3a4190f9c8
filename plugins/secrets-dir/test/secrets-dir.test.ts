import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import pino from 'pino';
import { DirSecretProvider } from '../dir-provider';

/** What the kubelet does: files in a timestamped dir, `..data` -> it, `<name>` -> `..data/<name>`; rotation swaps `..data` atomically. */
function kubeletWrite(dir: string, values: Record<string, string>, stamp: string): void {
  const ts = path.join(dir, `..${stamp}`);
  fs.mkdirSync(ts);
  for (const [k, v] of Object.entries(values)) fs.writeFileSync(path.join(ts, k), v);
  fs.symlinkSync(`..${stamp}`, path.join(dir, '..data_tmp'));
  fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  for (const k of Object.keys(values)) if (!fs.existsSync(path.join(dir, k))) fs.symlinkSync(`..data/${k}`, path.join(dir, k));
}

const provider = (dir?: string) => new DirSecretProvider({ dir, trim_newline: true }, pino({ level: 'silent' }));

test('reads a Kubernetes secret volume and sees a rotation (the ..data swap) on the next read', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'olsd-'));
  kubeletWrite(dir, { 'api-token': 'first', password: 'pw\n' }, '2026_01_01');
  const p = provider(dir);
  assert.deepEqual(await p.list(), ['api-token', 'password'], 'the ..data entries are not secrets');
  assert.equal((await p.get('api-token'))!.toString(), 'first');
  assert.equal((await p.get('password'))!.toString(), 'pw', 'one trailing newline dropped');
  assert.equal(await p.get('missing'), null);
  let changed = 0;
  const unwatch = p.watch(() => changed++);
  const seen = new Promise<void>((resolve) => {
    const t = setInterval(() => changed && (clearInterval(t), resolve()), 10);
  });
  kubeletWrite(dir, { 'api-token': 'second', password: 'pw2' }, '2026_01_02');
  assert.equal((await p.get('api-token'))!.toString(), 'second');
  await seen;
  unwatch();
  assert.equal(p.writable, false);
  fs.rmSync(dir, { recursive: true });
});

test('a link out of the directory is refused, dot names are invalid, an unset dir holds nothing', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'olsd-'));
  fs.symlinkSync('/etc/hostname', path.join(dir, 'escape'));
  await assert.rejects(provider(dir).get('escape'), /points outside the directory/);
  await assert.rejects(provider(dir).get('..data'), /invalid secret name/);
  assert.equal(await provider().get('anything'), null);
  assert.deepEqual(await provider().list(), []);
  fs.rmSync(dir, { recursive: true });
});
