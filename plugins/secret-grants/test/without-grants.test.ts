import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { startSecretsWorker, writeFunctions } from './secrets-worker';

test('a function that asks for secrets on a worker without secret-grants is refused, not run without them', async () => {
  const functions = fs.mkdtempSync(path.join(os.tmpdir(), 'olsec-nogrants-'));
  writeFunctions(functions, { wants: 'secrets: [api-token]\n', plain: 'owner: someone\n' });
  const w = await startSecretsWorker({}, functions, ['secrets-file']);
  try {
    const r = await w.run('wants', {});
    assert.equal(r.status, 422, r.text);
    assert.match(r.json.error.message, /secrets: this worker has no plugin that grants secrets to functions; ask the operator to enable one \(secret-grants\)/);
    assert.equal((await w.run('plain', {})).status, 200, 'functions that ask for nothing are unaffected');
  } finally {
    await w.stop();
    fs.rmSync(functions, { recursive: true, force: true });
  }
});
