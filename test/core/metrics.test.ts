import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Metrics } from '../../core/metrics/metrics';

test('each worker serves the process metrics once, beside its own, and workers do not see each other\'s series', async () => {
  const [a, b] = [new Metrics(), new Metrics()];
  a.invocations.inc({ function: 'echo', outcome: 'ok' });
  const [ta, tb] = [(await a.scrape()).text, (await b.scrape()).text];
  for (const text of [ta, tb]) {
    assert.equal(text.match(/^# HELP ol_worker_process_cpu_seconds_total /gm)?.length, 1);
    assert.equal(text.match(/^# HELP ol_worker_nodejs_eventloop_lag_p99_seconds /gm)?.length, 1);
  }
  assert.match(ta, /^ol_invocations_total\{function="echo",outcome="ok"\} 1$/m);
  assert.doesNotMatch(tb, /^ol_invocations_total\{/m);
});
