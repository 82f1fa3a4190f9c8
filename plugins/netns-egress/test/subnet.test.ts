import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { formatCidr, parseCidr } from '../cidr';
import { pickSubnet } from '../subnet';

test("a worker's /30 starts where its seed points and steps over every routed prefix it overlaps, wrapping around the pool", () => {
  const pool = parseCidr('10.231.0.0/28'); // four /30s
  assert.deepEqual(pickSubnet(pool, 1, []), { subnet: parseCidr('10.231.0.4/30'), hostAddress: '10.231.0.5', nsAddress: '10.231.0.6' });
  const used = [parseCidr('10.231.0.6'), parseCidr('10.231.0.8/30')];
  assert.equal(formatCidr(pickSubnet(pool, 1, used).subnet), '10.231.0.12/30');
  assert.equal(formatCidr(pickSubnet(pool, 3, [...used, parseCidr('10.231.0.12/30')]).subnet), '10.231.0.0/30');
  assert.throws(() => pickSubnet(pool, 0, [parseCidr('10.0.0.0/8')]), /no free \/30 left in 10\.231\.0\.0\/28/);
  assert.throws(() => pickSubnet(parseCidr('10.231.0.0/31'), 0, []), /smaller than the \/30 a worker needs/);
});

test('CIDRs are masked to their start; a bare address is a /32', () => {
  assert.equal(formatCidr(parseCidr('192.168.7.9/16')), '192.168.0.0/16');
  assert.deepEqual(parseCidr('255.255.255.255'), { start: 0xffffffff, end: 0xffffffff, prefix: 32 });
  assert.throws(() => parseCidr('10.0.0.256/8'), /not an IPv4 address/);
});
