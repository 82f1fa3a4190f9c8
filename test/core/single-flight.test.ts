import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { SingleFlight } from '../../core/util/single-flight';

test('callers of a key whose work is under way share it; other keys start their own', async () => {
  const flight = new SingleFlight<string, number>();
  let started = 0;
  let finish!: (n: number) => void;
  const work = () => {
    started++;
    return new Promise<number>((resolve) => (finish = resolve));
  };
  const first = flight.run('numpy==2.1.0', work);
  const second = flight.run('numpy==2.1.0', work);
  assert.equal(started, 1);
  assert.ok(flight.has('numpy==2.1.0'));
  finish(7);
  assert.deepEqual(await Promise.all([first, second]), [7, 7]);
  assert.equal(flight.has('numpy==2.1.0'), false);
  const other = flight.run('six==1.16.0', async () => 1);
  assert.equal(await other, 1);
});

test('a failure is shared by its waiters, then forgotten: the next caller tries again', async () => {
  const flight = new SingleFlight<string, string>();
  const failing = () => Promise.reject(new Error('the index is unreachable'));
  const waiters = [flight.run('k', failing), flight.run('k', failing)];
  for (const w of waiters) await assert.rejects(w, /unreachable/);
  assert.equal(flight.has('k'), false);
  assert.equal(await flight.run('k', async () => 'installed'), 'installed');
});
