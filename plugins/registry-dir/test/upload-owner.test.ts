import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { startWorker, type RunningWorker } from '../../../test/helpers/worker-fixture';
import { archiveOf, tempDir, writeTree } from './fixtures';

const run = promisify(execFile);

/**
 * The owner given at upload (`ol admin install --owner`, `POST
 * /registry/<name>?owner=`) is recorded with the function in the registry,
 * wins over ol.yaml's `owner:`, survives a worker restart, and is who
 * accounting charges: GET /usage?owner= shows the runs under it.
 */
const root = tempDir('ol-upload-owner-');
const uploads = path.join(root, 'uploads');
const CODE = `def f(event):
    try:
        open("/handler/.ol-upload.json").read()
        return "readable"
    except PermissionError:
        return "hidden"
    except FileNotFoundError:
        return "absent"
`;
const fnSource = writeTree(path.join(root, 'billed'), { 'f.py': CODE, 'ol.yaml': 'owner: mallory\n' });
const overrides = [`registry-dir.upload_dir=${uploads}`, 'accounting-sqlite.flush_ms=20'];
const cli = path.resolve(__dirname, '../../../core/cli/main.js');
let w: RunningWorker;

async function owners(): Promise<Record<string, number>> {
  const rows = (await w.admin('GET', '/usage?function=billed')).json.usage as { owner: string; invocations: number }[];
  return Object.fromEntries(rows.map((r) => [r.owner, r.invocations]));
}

test('start a worker with an upload dir that outlives it', async () => {
  w = await startWorker(overrides);
});

test('`ol admin install --owner alice` records alice, over ol.yaml\'s owner; the run is charged to alice', async () => {
  const { stdout } = await run(process.execPath, [cli, 'admin', 'install', '-p', w.dir, fnSource, '--owner', 'alice']);
  assert.equal(JSON.parse(stdout).owner, 'alice');
  const r = await w.run('billed', {});
  assert.equal(r.status, 200, r.text);
  // The registry's record is not the function's to read.
  assert.equal(r.json, 'hidden');
  assert.deepEqual(await owners(), { alice: 1 });
  const usage = (await w.admin('GET', '/usage?owner=alice')).json.usage;
  assert.deepEqual(usage.map((u: any) => [u.owner, u.function, u.invocations]), [['alice', 'billed', 1]]);
});

test('an upload without an owner falls back to ol.yaml; an archive cannot name its own owner', async () => {
  const forged = await archiveOf({ 'f.py': CODE, 'ol.yaml': 'owner: mallory\n', '.ol-upload.json': '{"owner":"eve"}\n' });
  const up = await w.admin('POST', '/registry/billed', forged);
  assert.equal(up.status, 201, up.text);
  assert.equal(up.json.owner, 'mallory');
  assert.equal((await w.run('billed', {})).json, 'absent');
  assert.deepEqual(await owners(), { alice: 1, mallory: 1 });
});

test('the admin API takes ?owner=, and refuses a malformed one', async () => {
  const archive = await archiveOf({ 'f.py': CODE, 'ol.yaml': 'owner: mallory\n' });
  const bad = await w.admin('POST', '/registry/billed?owner=al%20ice', archive);
  assert.equal(bad.status, 400, bad.text);
  assert.equal(bad.json.error.code, 'bad-owner');
  assert.match(bad.json.error.message, /owner "al ice" is not a valid owner name/);
  const up = await w.admin('POST', '/registry/billed?owner=alice', archive);
  assert.equal(up.status, 201, up.text);
  assert.equal(up.json.owner, 'alice');
  assert.equal((await w.run('billed', {})).status, 200);
  assert.deepEqual(await owners(), { alice: 2, mallory: 1 });
});

test('the recorded owner survives a worker restart', async () => {
  await w.stop();
  w = await startWorker(overrides);
  assert.equal((await w.run('billed', {})).status, 200);
  assert.deepEqual(await owners(), { alice: 1 });
});

after(async () => {
  await w?.stop();
});
