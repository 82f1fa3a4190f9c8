import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { startWorker, type RunningWorker } from '../helpers/worker-fixture';

let w: RunningWorker;
before(async () => {
  w = await startWorker();
});
after(async () => w?.stop());

test('echo returns the JSON event it was sent, with a request id', async () => {
  const r = await w.run('echo', { a: 1, nested: { list: [1, 'two', null] } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { a: 1, nested: { list: [1, 'two', null] } });
  assert.match(String(r.headers['x-request-id']), /^[0-9a-f]{16}$/);
});

test('every response carries a distinct X-Request-Id, errors included', async () => {
  const replies = [await w.run('echo', 1), await w.call('GET', '/nope'), await w.call('POST', '/run/echo', '{bad')];
  const ids = replies.map((r) => r.headers['x-request-id']);
  assert.ok(ids.every((id) => typeof id === 'string' && id.length === 16), JSON.stringify(ids));
  assert.equal(new Set(ids).size, 3);
});

test('the public listener serves only /run and /status', async () => {
  assert.equal((await w.call('GET', '/status')).status, 200);
  for (const p of ['/registry', '/stats', '/', '/debug/echo/1/stdout']) {
    const r = await w.call('GET', p);
    assert.equal(r.status, 404, p);
    assert.equal(r.json.error.code, 'not-found');
  }
  assert.equal((await w.call('POST', '/registry/echo', 'x')).status, 404);
});

test('malformed JSON is a 400 that says so', async () => {
  const r = await w.call('POST', '/run/echo', '{"a": ');
  assert.equal(r.status, 400);
  assert.equal(r.json.error.code, 'malformed-json');
  assert.match(r.json.error.message, /not valid JSON/);
});

test('an unknown function is a 404 naming it', async () => {
  const r = await w.run('no-such-fn', {});
  assert.equal(r.status, 404);
  assert.match(r.json.error.message, /no-such-fn/);
});

test('an exception names its type and message and carries a traceback', async () => {
  const r = await w.run('raise', { x: 1 });
  assert.equal(r.status, 500);
  assert.equal(r.headers['x-ol-error'], 'exception');
  assert.equal(r.json.error.code, 'exception');
  assert.equal(r.json.error.type, 'ValueError');
  assert.match(r.json.error.message, /bad input/);
  assert.match(r.json.error.traceback, /f\.py/);
  assert.equal(r.json.error.request_id, r.headers['x-request-id']);
});

test('the single-file form works without ol.yaml', async () => {
  const r = await w.run('hello', { name: 'ol' });
  assert.deepEqual(r.json, { greeting: 'hello, ol' });
});

test('methods not allowed by triggers.http get 405 with Allow', async () => {
  assert.equal((await w.call('GET', '/run/getonly')).status, 200);
  const r = await w.run('getonly', {});
  assert.equal(r.status, 405);
  assert.equal(r.headers['allow'], 'GET');
});

test('an invalid ol.yaml names the file, the key and the problem', async () => {
  const r = await w.run('badyaml', {});
  assert.equal(r.status, 422);
  assert.match(r.json.error.message, /badyaml\/ol\.yaml/);
  assert.match(r.json.error.message, /limits\.mem_mbs: unknown key/);
});

test('50 concurrent requests to one function all succeed', async () => {
  const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => w.run('echo', { i })));
  assert.deepEqual(
    replies.map((r) => r.status),
    Array(50).fill(200),
  );
  assert.deepEqual(
    replies.map((r) => r.json.i),
    Array.from({ length: 50 }, (_, i) => i),
  );
});
