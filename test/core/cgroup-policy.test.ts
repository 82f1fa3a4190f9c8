import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { checkKnobs, checkPolicy, type CgroupPolicy } from '../../core/config/cgroup-policy';
import { parseSize } from '../../core/util/cgroup-keys';

/** The operator's cgroup policy and the kernel syntax of every key kind, without a host. */
const policy: CgroupPolicy = {
  'memory.high': { function: true, invocation: true, min: '16M', max: '1G' },
  'cpu.max': { function: true, invocation: true, min: 0.1, max: 2 },
  'cpuset.cpus': { function: true, allowed: '0-3' },
  'io.max': { function: true, max: '10M' },
  'io.weight': { function: true },
  'hugetlb.2MB.max': { function: true, max: '64M' },
  'pids.max': { function: true, invocation: true, min: 4, max: 512 },
};

test('values are canonicalised to what the kernel reads', () => {
  const { knobs, problems } = checkKnobs(
    { 'memory.high': '64M', 'cpu.max': '50000', 'cpuset.cpus': '0-1,3', 'io.max': '8:0 rbps=1M wiops=100; 8:16 wbps=2M', 'io.weight': 'default 200', 'hugetlb.2MB.max': '4M', 'pids.max': 10 },
    policy,
    'function',
  );
  assert.deepEqual(problems, []);
  assert.deepEqual(knobs, {
    'memory.high': String(64 * 1024 * 1024),
    'cpu.max': '50000 100000',
    'cpuset.cpus': '0-1,3',
    'io.max': '8:0 rbps=1048576 wiops=100\n8:16 wbps=2097152',
    'io.weight': 'default 200',
    'hugetlb.2MB.max': String(4 * 1024 * 1024),
    'pids.max': '10',
  });
});

test('each problem names the key and the allowed range or syntax', () => {
  const { problems } = checkKnobs(
    { 'memory.high': '2G', 'cpu.max': 'max 100000', 'cpuset.cpus': '4', 'io.max': '8:0 rbps=20M', 'pids.max': 'lots', 'memory.min': '1M', 'cpu.wieght': 5 },
    policy,
    'invocation',
  );
  assert.deepEqual(problems, [
    'cgroup memory.high: 2G is outside the allowed range 16M..1G (bytes)',
    'cgroup cpu.max: max 100000 is outside the allowed range 0.1..2 (CPUs (quota / period))',
    'cgroup cpuset.cpus: the operator does not let a request set it (allowed: memory.high, cpu.max, pids.max)',
    'cgroup io.max: the operator does not let a request set it (allowed: memory.high, cpu.max, pids.max)',
    'cgroup pids.max: "lots" is not an integer or "max"',
    'cgroup memory.min: the operator does not let a request set it (allowed: memory.high, cpu.max, pids.max)',
    'cgroup cpu.wieght: not a cgroup v2 interface file OL Kernel can set; use one of memory.max, memory.high, memory.low, memory.min, memory.swap.max, memory.swap.high, memory.zswap.max, memory.oom.group, cpu.max, cpu.max.burst, cpu.weight, cpu.weight.nice, cpu.idle, cpuset.cpus, cpuset.mems, pids.max, io.max, io.weight, hugetlb.<size>.max',
  ]);
  const fn = checkKnobs({ 'cpuset.cpus': '4', 'io.max': '8:0 rbps=20M' }, policy, 'function').problems;
  assert.deepEqual(fn, ['cgroup cpuset.cpus: 4 is outside the allowed range a subset of 0-3', 'cgroup io.max: 8:0 rbps=20M is outside the allowed range 0..10M (bytes/s or IOs/s per limit)']);
});

test('the host driver has the last word, with its reason', () => {
  const { problems } = checkKnobs({ 'memory.high': '64M' }, policy, 'function', (key) => (key === 'memory.high' ? 'not available on this host (cgroup v1): no memory.high' : undefined));
  assert.deepEqual(problems, ['cgroup memory.high: not available on this host (cgroup v1): no memory.high']);
});

test('a policy with unknown keys or unreadable bounds is refused at start', () => {
  assert.deepEqual(checkPolicy({ 'memory.hihg': { function: true }, 'memory.max': { max: 'lots' } }), [
    'cgroup.memory.hihg: not a cgroup key OL Kernel knows; known: memory.max, memory.high, memory.low, memory.min, memory.swap.max, memory.swap.high, memory.zswap.max, memory.oom.group, cpu.max, cpu.max.burst, cpu.weight, cpu.weight.nice, cpu.idle, cpuset.cpus, cpuset.mems, pids.max, io.max, io.weight, hugetlb.<size>.max',
    'cgroup.memory.max: "lots" is not a size (bytes, or a number with K, M, G or T, or "max")',
  ]);
  assert.equal(parseSize('1.5G'), 1.5 * 1024 ** 3);
  assert.equal(parseSize('max'), Infinity);
});
