import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tar from 'tar';
import { startSecretsWorker, startUpstream, writeFunctions, type SecretsWorker, type Upstream } from './secrets-worker';

/**
 * Secrets through the real worker (root, real sandboxes): the egress proxy,
 * env and file delivery, grants checked at install and load, rotation, the
 * audit log, and no value in logs or admin answers.
 */
const fresh = (tag: string) => `${tag}-${randomBytes(16).toString('hex')}`;
const halves = (v: string): [string, string] => [v.slice(0, 12), v.slice(12)];

const API_TOKEN = fresh('apitok');
const ROTATED_TOKEN = fresh('apitok2');
const OTHER_TOKEN = fresh('othertok');
const DB_PASS = fresh('dbpass');
const DB_PASS_2 = fresh('dbpass2');
const DIR_TOKEN = fresh('dirtok');
const DIR_TOKEN_2 = fresh('dirtok2');
const ALL_VALUES = [API_TOKEN, ROTATED_TOKEN, OTHER_TOKEN, DB_PASS, DB_PASS_2, DIR_TOKEN, DIR_TOKEN_2];

let w: SecretsWorker;
let up: Upstream;
let functions: string;
let api: string;
let mounted: string;

before(async () => {
  up = await startUpstream(API_TOKEN);
  api = `http://127.0.0.1:${up.port}/api`;
  functions = fs.mkdtempSync(path.join(os.tmpdir(), 'olsec-fns-'));
  writeFunctions(functions, {
    'proxy-user': 'secrets: [api-token]\n',
    'other-user': 'secrets: [other-token]\n',
    'env-user': 'secrets:\n  - { name: db-pass, mode: env, env: DB_PASS }\n',
    'file-user': 'secrets:\n  - { name: db-pass, mode: file }\n',
    'no-secrets': 'owner: nobody-special\n',
    'greedy': 'secrets: [db-pass]\n',
    'dir-user': 'secrets:\n  - { name: dir-token, mode: env }\n',
  });
  mounted = fs.mkdtempSync(path.join(os.tmpdir(), 'olsec-volume-'));
  kubeletWrite(mounted, { 'dir-token': DIR_TOKEN }, '2026_11_29_01');
  const keyFile = path.join(functions, 'test.key');
  fs.writeFileSync(keyFile, randomBytes(32).toString('hex'), { mode: 0o600 });
  w = await startSecretsWorker(
    {
      'secrets-file': { key_file: keyFile, key_env: 'OL_TEST_UNSET_KEY_VARIABLE' },
      'secrets-dir': { dir: mounted },
      'secret-grants': {
        roles: {
          caller: { secrets: { 'api-token': { destinations: [api], inject: { header: 'Authorization', prefix: 'Bearer ' } } } },
          other: { secrets: { 'other-token': { destinations: [api] } } },
          holder: { secrets: { 'db-pass': { modes: ['env', 'file'] }, 'dir-token': { modes: ['env'] } } },
        },
        grants: { functions: { 'proxy-user': 'caller', 'other-user': 'other', 'env-user': 'holder', 'file-user': 'holder', 'dir-user': 'holder', 'installed-greedy': 'caller' } },
      },
    },
    functions,
  );
  for (const [name, value] of [['api-token', API_TOKEN], ['other-token', OTHER_TOKEN], ['db-pass', DB_PASS]]) {
    const r = await w.admin('PUT', `/secrets/${name}`, value);
    assert.equal(r.status, 204, r.text);
  }
});

after(async () => {
  await w?.stop();
  await up?.close();
  fs.rmSync(functions, { recursive: true, force: true });
  fs.rmSync(mounted, { recursive: true, force: true });
});

test('a function with the grant reaches the upstream through the proxy (200), and the upstream got the token', async () => {
  const r = await w.run('proxy-user', { call: { secret: 'api-token', url: `${api}/items?x=1` } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 200, r.text);
  assert.deepEqual(JSON.parse(r.json.body), { ok: true, path: '/api/items?x=1', method: 'GET' });
  assert.equal(up.seen.at(-1), `Bearer ${API_TOKEN}`);
  const post = await w.run('proxy-user', { call: { secret: 'api-token', url: `${api}/items`, method: 'POST', body: { n: 'x'.repeat(100000) } } });
  assert.deepEqual(JSON.parse(post.json.body), { ok: true, path: '/api/items', method: 'POST', bytes: 100009 }, 'a request body is streamed through');
});

test("the token is nowhere in the proxy user's environment, files or readable memory", async () => {
  const r = await w.run('proxy-user', { scan: { api: halves(API_TOKEN), db: halves(DB_PASS), probe: halves(`${API_TOKEN.slice(0, 6)}-not-a-secret`) } });
  assert.equal(r.status, 200, r.text);
  for (const name of ['api', 'db']) {
    const s = r.json.scan[name];
    assert.equal(s.environ, false, `${name} in the environment`);
    assert.deepEqual(s.files, [], `${name} in files`);
    assert.equal(s.memory, false, `${name} in memory`);
  }
  assert.ok(r.json.scan.api.files_read > 5, `the probe read files: ${r.json.scan.api.files_read}`);
  assert.ok(r.json.scan.api.memory_bytes > 4 * 1024 * 1024, `the probe read memory: ${r.json.scan.api.memory_bytes} bytes`);
});

test('the memory probe does find a value the instance holds (env mode), so its negative answers mean something', async () => {
  const r = await w.run('env-user', { env: 'DB_PASS', scan: { db: halves(DB_PASS), api: halves(API_TOKEN) } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.env, DB_PASS);
  assert.equal(r.json.scan.db.environ, true);
  assert.equal(r.json.scan.db.memory, true);
  assert.deepEqual(r.json.scan.api, { ...r.json.scan.api, environ: false, files: [], memory: false }, 'the env user never gets the proxy-only token');
});

test('file mode: the value is a read-only file in the granted sandbox only', async () => {
  const r = await w.run('file-user', { file: '/run/ol/secrets/db-pass', env: 'DB_PASS', scan: { db: halves(DB_PASS) } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.file, DB_PASS);
  assert.equal(r.json.env, null, 'file mode puts nothing in the environment');
  assert.deepEqual(r.json.scan.db.files, ['/run/ol/secrets/db-pass']);
  const none = await w.run('proxy-user', { file: '/run/ol/secrets/db-pass', env: 'DB_PASS' });
  assert.equal(none.json.env, null);
  assert.equal(none.json.file_error, 'No such file or directory');
});

test('a function without the grant gets a clear denial', async () => {
  const r = await w.run('other-user', { call: { secret: 'api-token', url: `${api}/items` } });
  assert.equal(r.json.status, 403, r.text);
  assert.equal(r.json.refused, 'secret-not-granted');
  assert.match(JSON.parse(r.json.body).error.message, /function "other-user" may not use secret "api-token"/);
  const before = up.seen.length;
  const none = await w.run('no-secrets', { call: { secret: 'api-token', url: `${api}/items` } });
  assert.match(none.json.error, /FileNotFoundError|ConnectionRefused/, 'a function that asks for no secret has no egress socket at all');
  assert.equal(up.seen.length, before, 'nothing reached the upstream');
});

test('a destination outside the allow-list is denied', async () => {
  for (const url of [`http://127.0.0.1:${up.port}/admin`, `http://127.0.0.1:${up.port}/apiary`, `http://localhost:${up.port}/api/x`, `http://127.0.0.1:1/api`]) {
    const r = await w.run('proxy-user', { call: { secret: 'api-token', url } });
    assert.equal(r.json.status, 403, `${url}: ${r.text}`);
    assert.equal(r.json.refused, 'destination-not-allowed');
    assert.match(JSON.parse(r.json.body).error.hint, /allows it only for: http:\/\/127\.0\.0\.1:\d+\/api/);
  }
});

test('asking for a secret the role does not grant fails at load (422) and at install (400)', async () => {
  const load = await w.run('greedy', {});
  assert.equal(load.status, 422, load.text);
  assert.match(load.json.error.message, /asks for secret "db-pass", but the operator's policy gives no role to function "greedy"/);
  const src = fs.mkdtempSync(path.join(os.tmpdir(), 'olsec-install-'));
  writeFunctions(src, { fn: 'secrets:\n  - { name: api-token, mode: env }\n' });
  const archive = await tarball(path.join(src, 'fn'));
  const inst = await w.admin('POST', '/registry/installed-greedy', archive);
  assert.equal(inst.status, 400, inst.text);
  assert.match(inst.json.error.message, /asks for secret "api-token" as env, but role "caller" allows it only as proxy/);
  assert.equal((await w.admin('GET', '/registry')).json.functions.includes('installed-greedy'), false, 'the rejected function was not kept');
  fs.rmSync(src, { recursive: true, force: true });
});

test('rotation takes effect for new requests: the proxy sends the new token, env instances are retired', async () => {
  up.token = ROTATED_TOKEN;
  const stale = await w.run('proxy-user', { call: { secret: 'api-token', url: `${api}/items` } });
  assert.equal(stale.json.status, 401, 'the upstream now wants the new token');
  assert.equal((await w.admin('PUT', '/secrets/api-token', ROTATED_TOKEN)).status, 204);
  const r = await w.run('proxy-user', { call: { secret: 'api-token', url: `${api}/items` } });
  assert.equal(r.json.status, 200, r.text);
  assert.equal(up.seen.at(-1), `Bearer ${ROTATED_TOKEN}`);

  assert.equal((await w.run('env-user', { env: 'DB_PASS' })).json.env, DB_PASS, 'a warm env instance');
  assert.equal((await w.admin('PUT', '/secrets/db-pass', DB_PASS_2)).status, 204);
  assert.equal((await w.run('env-user', { env: 'DB_PASS' })).json.env, DB_PASS_2, 'the instance holding the old value was retired');
  assert.equal((await w.run('file-user', { file: '/run/ol/secrets/db-pass' })).json.file, DB_PASS_2);
});

test('a mounted-directory secret rotated by a kubelet-style ..data swap reaches new instances without a restart', async () => {
  assert.equal((await w.run('dir-user', { env: 'DIR_TOKEN' })).json.env, DIR_TOKEN);
  kubeletWrite(mounted, { 'dir-token': DIR_TOKEN_2 }, '2026_11_29_02');
  // The directory watch (inotify) retires the instance; poll the function, bounded, until a new one answers.
  const deadline = Date.now() + 10_000;
  let seen = DIR_TOKEN;
  while (seen !== DIR_TOKEN_2 && Date.now() < deadline) seen = (await w.run('dir-user', { env: 'DIR_TOKEN' })).json.env;
  assert.equal(seen, DIR_TOKEN_2);
});

test('the audit log records each attempt, with request id and decision, without the value', async () => {
  const r = await w.run('proxy-user', { call: { secret: 'api-token', url: `${api}/audited` } });
  const reqId = r.headers['x-request-id'];
  // The file is appended through a stream: its line may land just after the answer.
  const readAudit = () => fs.readFileSync(path.join(w.worker.paths.root, 'secrets-audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  let lines = readAudit();
  for (let i = 0; i < 100 && !lines.some((l) => l.request_id === reqId); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    lines = readAudit();
  }
  const mine = lines.filter((l) => l.request_id === reqId);
  assert.equal(mine.length, 1);
  assert.deepEqual({ ...mine[0], time: undefined, sandbox: undefined }, {
    time: undefined, sandbox: undefined, function: 'proxy-user', owner: 'default', request_id: reqId, secret: 'api-token', mode: 'proxy',
    destination: `http://127.0.0.1:${up.port}/api/audited`, method: 'GET', decision: 'allowed', status: 200,
  });
  const denied = lines.filter((l) => l.decision === 'denied').map((l) => `${l.function}:${l.secret}:${l.reason}`);
  assert.ok(denied.includes('other-user:api-token:secret-not-granted'), denied.join(' '));
  assert.ok(denied.includes('proxy-user:api-token:destination-not-allowed'), denied.join(' '));
  const delivered = lines.filter((l) => l.mode !== 'proxy').map((l) => `${l.function}:${l.mode}:${l.decision}`);
  assert.ok(delivered.includes('env-user:env:allowed') && delivered.includes('file-user:file:allowed'), delivered.join(' '));
  const viaApi = await w.admin('GET', '/secret-audit?function=proxy-user&limit=1000');
  assert.ok(viaApi.json.records.some((l: any) => l.request_id === reqId));
  assertNoValue('the audit log', JSON.stringify(lines));
});

test('secret values appear in no log line, admin answer, stats, or store file', async () => {
  const meta = await w.admin('GET', '/secrets/api-token');
  assert.deepEqual(meta.json, { name: 'api-token', bytes: ROTATED_TOKEN.length, granted_by: [{ role: 'caller', modes: ['proxy'] }] });
  assert.deepEqual((await w.admin('GET', '/secrets')).json, { secrets: ['api-token', 'db-pass', 'dir-token', 'other-token'], writable: true });
  await w.admin('GET', '/stats');
  await w.admin('GET', '/secret-audit');
  assert.ok(w.logLines.some((l) => l.includes('"secret":"api-token"')), `the log (trace level, ${w.logLines.length} lines) has lines about the secret`);
  assertNoValue('the worker log', w.logLines.join(''));
  assertNoValue('admin answers', w.adminBodies.join(''));
  assertNoValue('the encrypted store', fs.readFileSync(path.join(w.worker.paths.root, 'secrets.enc'), 'latin1'));
  assert.equal((await w.admin('DELETE', '/secrets/other-token')).status, 204);
  assert.equal((await w.admin('GET', '/secrets/other-token')).status, 404);
});

test('ol secret put|get|list|rm work through the admin socket; the value is read from stdin and never printed', async () => {
  const value = fresh('clitok');
  ALL_VALUES.push(value);
  const put = await ol(['secret', 'put', 'cli-token'], `${value}\n`);
  assert.equal(put.code, 0, put.stderr);
  const get = await ol(['secret', 'get', 'cli-token']);
  assert.deepEqual(JSON.parse(get.stdout), { name: 'cli-token', bytes: value.length, granted_by: [] }, 'one trailing newline dropped');
  assert.ok(JSON.parse((await ol(['secret', 'list'])).stdout).secrets.includes('cli-token'));
  assert.equal((await ol(['secret', 'rm', 'cli-token'])).code, 0);
  const gone = await ol(['secret', 'get', 'cli-token']);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /error 404.*no secret named .{0,2}cli-token/);
  const audit = await ol(['secret', 'audit', '--function', 'proxy-user', '-n', '2']);
  assert.equal(JSON.parse(audit.stdout).records.length, 2);
  assertNoValue('CLI output', [put, get, gone, audit].map((r) => r.stdout + r.stderr).join(''));
});

/** Run the real CLI against the test worker's dir, with `input` on stdin. */
function ol(args: string[], input = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  const cli = path.join(__dirname, '../../../core/cli/main.js');
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [cli, ...args, '-p', w.worker.paths.root], (err, stdout, stderr) => {
      resolve({ code: err ? ((err as any).code ?? 1) : 0, stdout, stderr });
    });
    child.stdin!.end(input);
  });
}

test('stopping the worker removes every per-sandbox socket and secret file', async () => {
  const base = path.join('/dev/shm', `ol-secrets-${w.worker.paths.scope}`);
  assert.equal(fs.statSync(base).mode & 0o777, 0o700, 'private to root while the worker runs');
  assert.ok(fs.readdirSync(base).length > 0, 'live sandboxes have their directories');
  const stopping = w;
  w = undefined as any;
  await stopping.stop();
  assert.equal(fs.existsSync(base), false);
});

/** What the kubelet does on a secret volume: a new timestamped dir, then an atomic swap of the ..data link. */
function kubeletWrite(dir: string, values: Record<string, string>, stamp: string): void {
  fs.mkdirSync(path.join(dir, `..${stamp}`));
  for (const [k, v] of Object.entries(values)) fs.writeFileSync(path.join(dir, `..${stamp}`, k), v);
  fs.symlinkSync(`..${stamp}`, path.join(dir, '..data_tmp'));
  fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  for (const k of Object.keys(values)) if (!fs.existsSync(path.join(dir, k))) fs.symlinkSync(`..data/${k}`, path.join(dir, k));
}

function assertNoValue(where: string, text: string): void {
  for (const v of ALL_VALUES) {
    for (const form of [v, Buffer.from(v).toString('base64'), Buffer.from(`Bearer ${v}`).toString('base64')]) {
      assert.equal(text.includes(form), false, `${where} contains a secret value`);
    }
  }
}

async function tarball(dir: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of tar.c({ gzip: true, cwd: dir, portable: true }, fs.readdirSync(dir)) as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}
