import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Destination } from '../destinations';
import { inject } from '../injection';
import { redact } from '../redact';

test('destinations match scheme, host, port and a path prefix at a segment boundary', () => {
  const d = Destination.parse('https://api.example.com/v1');
  assert.equal(d.allows(new URL('https://api.example.com/v1')), true);
  assert.equal(d.allows(new URL('https://api.example.com/v1/items?x=1')), true);
  assert.equal(d.allows(new URL('https://api.example.com/v10')), false);
  assert.equal(d.allows(new URL('https://api.example.com/v1/../admin')), false, 'dot segments are resolved before matching');
  assert.equal(d.allows(new URL('http://api.example.com/v1')), false);
  assert.equal(d.allows(new URL('https://api.example.com:8443/v1')), false);
  assert.equal(d.allows(new URL('https://api.example.com.evil.net/v1')), false);
  const w = Destination.parse('https://*.example.com');
  assert.equal(w.allows(new URL('https://a.b.example.com/x')), true);
  assert.equal(w.allows(new URL('https://example.com/x')), false);
  assert.equal(w.allows(new URL('https://badexample.com/x')), false);
  assert.throws(() => Destination.parse('https://user:pw@example.com'), /only scheme:\/\/host\[:port\]\[\/path\]/);
});

test('the credential goes in a header, basic auth or a query parameter, replacing what the function set', () => {
  const v = Buffer.from('s3cr3t');
  const h1: Record<string, string | string[]> = { Authorization: 'Bearer forged', accept: '*/*' };
  inject({ header: 'Authorization', prefix: 'Bearer ' }, v, h1, new URL('http://x/'));
  assert.deepEqual(h1, { authorization: 'Bearer s3cr3t', accept: '*/*' });
  const h2: Record<string, string | string[]> = {};
  inject({ basic_user: 'api' }, v, h2, new URL('http://x/'));
  assert.equal(h2.authorization, 'Basic ' + Buffer.from('api:s3cr3t').toString('base64'));
  const u = new URL('http://x/p?key=forged&a=1');
  inject({ query: 'key' }, v, {}, u);
  assert.equal(u.search, '?key=s3cr3t&a=1');
  assert.throws(() => inject({ header: 'X-Key' }, Buffer.from('a\r\nb'), {}, new URL('http://x/')), (e: Error) => !e.message.includes('a\r\nb'));
});

test('redact removes the value in its plain, URL-encoded and base64 forms', () => {
  const v = Buffer.from('p@ss word');
  assert.equal(redact(`x p@ss word y p%40ss%20word z ${v.toString('base64')}`, v), 'x [redacted] y [redacted] z [redacted]');
});
