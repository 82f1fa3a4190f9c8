// Attacks on the worker's own doors: oversized and slow-drip requests on the
// public port, and malicious archives uploaded through the admin API.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { rawTarGz } from '../../plugins/registry-dir/test/fixtures';
import { startWorker, type RunningWorker } from '../helpers/worker-fixture';

const HEADERS_TIMEOUT_MS = 1000;
const MAX_BODY = 1024 * 1024;
let w: RunningWorker;

before(async () => {
  w = await startWorker([`http.headers_timeout_ms=${HEADERS_TIMEOUT_MS}`, 'http.request_timeout_ms=3000', `http.max_body_bytes=${MAX_BODY}`, 'registry-dir.max_unpacked_bytes=1048576']);
});
after(async () => w?.stop());

/** Open a raw TCP connection to the public port. */
function connect(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(w.worker.port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

test('a huge request body: 413 before the worker reads it all', async () => {
  const s = await connect();
  const total = 512 * 1024 * 1024;
  s.write(`POST /run/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${total}\r\n\r\n`);
  let sent = 0;
  let answer = '';
  s.on('data', (d) => (answer += d.toString()));
  const chunk = Buffer.alloc(1024 * 1024, 0x20);
  const closed = new Promise<void>((resolve) => s.on('close', () => resolve()));
  s.on('error', () => undefined); // the worker may reset the connection mid-upload
  while (sent < total && !s.destroyed && !answer) {
    if (!s.write(chunk)) await new Promise((r) => s.once('drain', r).once('close', r));
    sent += chunk.length;
  }
  s.end();
  await closed;
  assert.match(answer, /^HTTP\/1\.1 413 /);
  assert.ok(sent < total / 4, `the client pushed ${sent >> 20} MiB before the answer`);
  // Without a Content-Length (chunked), the limit still holds.
  assert.match(await chunkedUpload(8 * MAX_BODY), /^HTTP\/1\.1 413 /);
});

/** Stream a chunked body of `total` bytes until the worker answers; its answer. */
async function chunkedUpload(total: number): Promise<string> {
  const s = await connect();
  let answer = '';
  s.on('data', (d) => (answer += d.toString()));
  s.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => s.on('close', () => resolve()));
  s.write('POST /run/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  for (let sent = 0; sent < total && !answer && !s.destroyed; sent += chunk.length) {
    s.write(`${chunk.length.toString(16)}\r\n`);
    s.write(chunk);
    if (!s.write('\r\n')) await new Promise((r) => s.once('drain', r).once('close', r));
  }
  if (!answer && !s.destroyed) s.write('0\r\n\r\n');
  await Promise.race([closed, new Promise((r) => setTimeout(r, 5000))]);
  s.destroy();
  return answer;
}

test('a slow-drip (slowloris) client is cut off after http.headers_timeout_ms, and others are served meanwhile', async () => {
  const started = Date.now();
  const drips = await Promise.all(Array.from({ length: 50 }, connect));
  const timers = drips.map((s) => {
    s.on('error', () => undefined);
    s.write('POST /run/echo HTTP/1.1\r\n');
    return setInterval(() => s.writable && s.write('X-a: b\r\n'), 200);
  });
  const closedAt = drips.map((s) => new Promise<number>((resolve) => s.on('close', () => resolve(Date.now() - started))));
  try {
    const ok = await w.run('echo', { during: 'slowloris' });
    assert.equal(ok.status, 200);
    const times = await Promise.all(closedAt);
    assert.ok(Math.max(...times) < HEADERS_TIMEOUT_MS + 2500, `closed after ${Math.max(...times)} ms`);
    assert.ok(Math.min(...times) >= HEADERS_TIMEOUT_MS - 100, `closed too early: ${Math.min(...times)} ms`);
  } finally {
    timers.forEach(clearInterval);
    drips.forEach((s) => s.destroy());
  }
  assert.equal((await w.run('echo', 'after')).status, 200);
});

test('the public port answers only /run and /status; the admin API is not there', async () => {
  for (const [m, p] of [['GET', '/registry'], ['POST', '/registry/x'], ['GET', '/metrics'], ['GET', '/stats'], ['GET', '/debug/echo/x/stdout']]) {
    assert.equal((await w.call(m, p)).status, 404, `${m} ${p}`);
  }
  const mode = fs.statSync(w.worker.paths.adminSocket).mode & 0o777;
  assert.equal(mode, 0o600);
});

const F_PY = { path: 'f.py', body: 'def f(event):\n    return 1\n' };

async function upload(name: string, archive: Buffer): Promise<{ status: number; text: string }> {
  const r = await w.admin('POST', `/registry/${name}`, archive);
  return { status: r.status, text: r.text };
}

test('malicious .tar.gz uploads through the admin API: traversal, absolute paths, symlinks, hard links, devices are refused and nothing lands', async () => {
  const outside = path.join(w.dir, 'evil');
  const cases: [string, Buffer, RegExp][] = [
    ['traversal', rawTarGz([F_PY, { path: '../../evil', body: 'pwned' }]), /'\.\.' component/],
    ['absolute', rawTarGz([F_PY, { path: outside, body: 'pwned' }]), /absolute path/],
    ['symlink', rawTarGz([F_PY, { path: 'passwd', type: 'SymbolicLink', linkpath: '/etc/passwd' }]), /symbolic link/],
    ['symlink-write-through', rawTarGz([F_PY, { path: 'p', type: 'SymbolicLink', linkpath: w.dir }, { path: 'p/evil', body: 'pwned' }]), /symbolic link/],
    ['hardlink', rawTarGz([F_PY, { path: 'h', type: 'Link', linkpath: '/etc/shadow' }]), /hard link/],
    ['device', rawTarGz([F_PY, { path: 'mem', type: 'CharacterDevice' }]), /device file/],
  ];
  for (const [name, archive, why] of cases) {
    const r = await upload(name, archive);
    assert.equal(r.status, 400, `${name}: ${r.text}`);
    assert.match(r.text, why, name);
    assert.equal((await w.run(name)).status, 404, `${name} must not be installed`);
  }
  assert.equal(fs.existsSync(outside), false);
  assert.equal(fs.existsSync(path.join(w.dir, '..', 'evil')), false);
});

test('a zip bomb (a small archive that inflates past max_unpacked_bytes): 413, nothing kept', async () => {
  const bomb = rawTarGz([F_PY, { path: 'zeros', body: Buffer.alloc(64 * 1024 * 1024) }]);
  assert.ok(bomb.length < 256 * 1024, `${bomb.length} bytes`);
  const r = await upload('bomb', bomb);
  assert.equal(r.status, 413, r.text);
  for (const name of ['bomb']) assert.equal((await w.run(name)).status, 404, `${name} must not be installed`);
  assert.equal((await w.run('echo', 1)).status, 200);
});

test('a zip bomb hidden after the tar end-of-archive blocks: 413 within seconds, nothing kept', async () => {
  // The zeros follow the archive's end marker: no entry is large, only the stream.
  const bomb = rawTarGz([F_PY], 260 * 1024 * 1024);
  assert.ok(bomb.length < 512 * 1024, `${bomb.length} bytes`);
  const started = Date.now();
  const r = await upload('trailing-bomb', bomb);
  assert.equal(r.status, 413, r.text);
  assert.match(r.text, /decompresses to more than/);
  assert.ok(Date.now() - started < 30000, `took ${Date.now() - started} ms`);
  assert.equal((await w.run('trailing-bomb')).status, 404);
});
