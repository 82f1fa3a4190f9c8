import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { discoverSuites } from '../run';
import { markdownReport, type RunReport } from '../lib/report';
import { percentile, ratioSpread, spread } from '../lib/stats';
import { compared, measured, pending } from '../lib/suite';

test('percentiles are nearest-rank, so p99 of 100 values is the 99th', () => {
  const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // unsorted on purpose
  assert.equal(percentile(xs, 50), 50);
  assert.equal(percentile(xs, 99), 99);
  assert.equal(percentile(xs, 100), 100);
  assert.equal(percentile([7], 99), 7);
});

test('a spread is min, median and max over runs; ratios pair runs in order', () => {
  assert.deepEqual(spread([3, 1, 2]), { min: 1, median: 2, max: 3, runs: [3, 1, 2] });
  assert.deepEqual(ratioSpread([2, 4, 9], [1, 2, 3]).runs, [2, 2, 3]);
});

test('targets are checked on the median ratio (or value), and slots stay pending', () => {
  const fast = compared('p50', 'ms', [1.0, 1.2, 1.4], { label: 'bare', runs: [1, 1, 1] }, { op: '<=', bound: 1.5 });
  assert.equal(fast.met, true);
  const slow = compared('p50', 'ms', [2, 2, 2], { label: 'bare', runs: [1, 1, 1] }, { op: '<=', bound: 1.5 });
  assert.equal(slow.met, false);
  assert.equal(measured('unique', 'MiB', [2.5], { op: '<=', bound: 3, on: 'value' }).met, true);
  assert.equal(pending('zygote', 'ms', 'issue #3', { op: '<=', bound: 0.5 }).met, undefined);
});

test('the report marks each target met, MISSED or pending', () => {
  const run: RunReport = {
    machine: { line: 'test machine' } as RunReport['machine'],
    mode: 'quick',
    seconds: 1,
    suites: [{ name: 's', title: 'Suite', seconds: 1, rows: [
      compared('a', 'ms', [1], { label: 'b', runs: [1] }, { op: '<=', bound: 1.5 }),
      compared('c', 'ms', [3], { label: 'b', runs: [1] }, { op: '<=', bound: 1.5 }),
      pending('z', 'ms', 'later', { op: '<=', bound: 0.5 }),
    ] }],
  };
  const md = markdownReport(run);
  assert.match(md, /\| a \| 1 ms \| b: 1 ms \| 1x \| <= 1.5x \| met \|/);
  assert.match(md, /\| c \| 3 ms \| b: 1 ms \| 3x \| <= 1.5x \| MISSED \|/);
  assert.match(md, /\| z \| not measured \|.*\| pending \|/);
});

test('every suite file in bench/suites is discovered, with a unique name', () => {
  const names = discoverSuites().map((s) => s.name);
  for (const builtIn of ['warm-echo', 'warm-pause', 'cold-start', 'zygote-import', 'churn', 'density', 'worker-overhead']) assert.ok(names.includes(builtIn), `${builtIn} missing from ${names.join(', ')}`);
  assert.equal(new Set(names).size, names.length);
});
