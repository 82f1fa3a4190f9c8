import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import pino from 'pino';
import { FileSecretProvider } from '../file-provider';
import type { SecretsFileConfig } from '../config';

const silent = pino({ level: 'silent' });

function provider(dir: string, over: Partial<SecretsFileConfig> = {}): FileSecretProvider {
  const config: SecretsFileConfig = { key_env: 'OL_TEST_NO_SUCH_KEY_VAR', generate_key: true, ...over };
  return new FileSecretProvider(config, { root: dir } as any, silent);
}

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'olsf-'));
}

test('values round-trip, and the store file holds none of them in clear', async () => {
  const dir = tmp();
  const p = provider(dir);
  const value = Buffer.from(`tok-${randomBytes(12).toString('hex')}`);
  await p.put('api', value);
  await p.put('other', Buffer.from('second'));
  assert.deepEqual(await p.get('api'), value);
  assert.deepEqual(await p.list(), ['api', 'other']);
  const onDisk = fs.readFileSync(path.join(dir, 'secrets.enc'));
  assert.equal(onDisk.includes(value), false);
  assert.equal(onDisk.includes(Buffer.from(value.toString('base64'))), false);
  assert.equal(fs.statSync(path.join(dir, 'secrets.enc')).mode & 0o777, 0o600);
  assert.equal(fs.statSync(path.join(dir, 'secrets.key')).mode & 0o777, 0o600, 'the generated key is private');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['secrets.enc', 'secrets.key'], 'no temporary file is left by the atomic writes');
  assert.equal(await p.remove('api'), true);
  assert.equal(await p.remove('api'), false);
  assert.equal(await p.get('api'), null);
  fs.rmSync(dir, { recursive: true });
});

test('the key comes from the environment first; a wrong key is a clear error that quotes no value', async () => {
  const dir = tmp();
  const key = randomBytes(32);
  process.env.OL_TEST_SECRETS_KEY = key.toString('base64');
  const p = provider(dir, { key_env: 'OL_TEST_SECRETS_KEY' });
  await p.put('db', Buffer.from('hunter2-hunter2'));
  assert.equal(fs.existsSync(path.join(dir, 'secrets.key')), false, 'no key file when the environment has the key');
  assert.equal((await p.get('db'))!.toString(), 'hunter2-hunter2');
  process.env.OL_TEST_SECRETS_KEY = randomBytes(32).toString('hex');
  await assert.rejects(provider(dir, { key_env: 'OL_TEST_SECRETS_KEY' }).get('db'), (e: Error) => {
    assert.match(e.message, /cannot decrypt secret "db" in .*secrets\.enc: the key is not the one it was stored with/);
    assert.equal(e.message.includes('hunter2'), false);
    return true;
  });
  process.env.OL_TEST_SECRETS_KEY = 'not a key';
  await assert.rejects(provider(dir, { key_env: 'OL_TEST_SECRETS_KEY' }).get('db'), /does not hold a 256-bit key \(expected 64 hex digits/);
  delete process.env.OL_TEST_SECRETS_KEY;
  fs.rmSync(dir, { recursive: true });
});

test('an entry moved under another name does not decrypt (the name is authenticated)', async () => {
  const dir = tmp();
  const p = provider(dir);
  await p.put('admin-token', Buffer.from('the-admin-one'));
  await p.put('guest-token', Buffer.from('the-guest-one'));
  const file = path.join(dir, 'secrets.enc');
  const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  doc.entries['guest-token'] = doc.entries['admin-token'];
  fs.writeFileSync(file, JSON.stringify(doc));
  await assert.rejects(provider(dir).get('guest-token'), /cannot decrypt secret "guest-token"/);
  fs.rmSync(dir, { recursive: true });
});

test('without a key and with generation off, a write says how to provide one', async () => {
  const dir = tmp();
  await assert.rejects(provider(dir, { generate_key: false }).put('x', Buffer.from('v')), /no secrets key: set the environment variable OL_TEST_NO_SUCH_KEY_VAR or create/);
  assert.equal(await provider(dir, { generate_key: false }).get('x'), null, 'reading an empty store needs no key');
  await assert.rejects(provider(dir).put('../etc', Buffer.from('v')), /invalid secret name/);
  fs.rmSync(dir, { recursive: true });
});

test('concurrent puts are all kept, and watchers hear of each change', async () => {
  const dir = tmp();
  const p = provider(dir);
  let changes = 0;
  const unwatch = p.watch(() => changes++);
  await Promise.all(Array.from({ length: 20 }, (_, i) => p.put(`k${i}`, Buffer.from(`v${i}`))));
  assert.equal((await p.list()).length, 20);
  assert.equal(changes, 20);
  unwatch();
  await p.put('k0', Buffer.from('again'));
  assert.equal(changes, 20);
  assert.equal((await provider(dir).get('k0'))!.toString(), 'again', 'another reader sees the new value');
  fs.rmSync(dir, { recursive: true });
});
