import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { readFunctionConfig } from '../../../core/functions/read-function-config';

function fnWith(olYaml: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'olsec-yaml-'));
  fs.writeFileSync(path.join(dir, 'f.py'), 'def f(event):\n    return event\n');
  fs.writeFileSync(path.join(dir, 'ol.yaml'), olYaml);
  return dir;
}

test('ol.yaml secrets: a name asks for proxy use; env gets a variable name; file needs nothing more', () => {
  const dir = fnWith('secrets:\n  - api-token\n  - { name: db.pass-word, mode: env }\n  - { name: pw, mode: env, env: PGPASSWORD }\n  - { name: tls-key, mode: file }\n');
  assert.deepEqual(readFunctionConfig(dir, 'fn').secrets, [
    { name: 'api-token', mode: 'proxy' },
    { name: 'db.pass-word', mode: 'env', env: 'DB_PASS_WORD' },
    { name: 'pw', mode: 'env', env: 'PGPASSWORD' },
    { name: 'tls-key', mode: 'file' },
  ]);
  assert.deepEqual(readFunctionConfig(fnWith('owner: x\n'), 'fn').secrets, []);
});

test('ol.yaml secrets: a bad name or mode is an error naming the file and key', () => {
  assert.throws(() => readFunctionConfig(fnWith('secrets: [../etc/passwd]\n'), 'fn'), /fn\/ol\.yaml: .*secrets\.0/);
  assert.throws(() => readFunctionConfig(fnWith('secrets:\n  - { name: a, mode: memory }\n'), 'fn'), /fn\/ol\.yaml: .*secrets\.0/);
});
