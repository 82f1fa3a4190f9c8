// The scheduling logic of scheduler-fifo, against FakeSandboxBackend: an
// in-memory TEST DOUBLE of SandboxBackend (see fake-sandbox-backend.ts). The
// real SOCK backend needs root and the launcher; it is covered by the sock
// plugin's tests and by the end-to-end tests, which run this scheduler on it.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import Ajv from 'ajv';
import pino from 'pino';
import { QueueFullError, SandboxBackendPoint, SchedulerPoint, Tokens, type Invocation, type InvocationOutcome, type LoadedFunction, type SchedulerStats } from '../../../core';
// After core, which loads the reflect-metadata polyfill tsyringe needs.
import { container } from 'tsyringe';
import plugin from '..';
import { FIFO_DEFAULTS, fifoConfigSchema, type FifoConfig } from '../config';
import { SchedulerClosedError } from '../errors';
import { FifoScheduler } from '../fifo-scheduler';
import { FakeSandboxBackend, Gate, type FakeRequest } from './fake-sandbox-backend';

const silent = pino({ level: 'silent' });

function setup(config: Partial<FifoConfig> = {}) {
  const backend = new FakeSandboxBackend();
  const scheduler = new FifoScheduler(config, silent, backend);
  return { backend, scheduler };
}

function fnOf(name: string, version = 'v1', reuseSandbox = true): LoadedFunction {
  return {
    name,
    version,
    codeDir: `/nonexistent/${name}/${version}`,
    config: { entry: 'f.py', handler: 'f', owner: 'test', methods: null, environment: {}, reuseSandbox, packages: [], imports: [], limits: {} },
    limits: { memMb: 64, procs: 16, cpuPercent: 100, timeoutMs: 1000 },
  };
}

let requests = 0;
function inv(req: FakeRequest = {}): Invocation {
  return { requestId: `r${++requests}`, body: Buffer.from(JSON.stringify(req)), method: 'POST' };
}

/** Which fake sandbox served a successful outcome. */
function servedBy(out: InvocationOutcome): string {
  assert.ok(out.ok, 'the invocation should succeed');
  return JSON.parse(out.body.toString()).sandbox;
}

/** One event-loop turn: lets the scheduler's promise callbacks that follow a fake's event run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

// A scheduling bug tends to hang (a waiter never served): fail instead of waiting forever.
const TIMEOUT_MS = 10_000;

const zeroInstances = { idle: 0, busy: 0, starting: 0, stopping: 0 };

/** The counts most tests check (stats() also reports paused instances, evictions and the memory pool). */
function basic(s: SchedulerStats) {
  return { functions: s.functions, instances: s.instances, queued: s.queued };
}

test('sequential requests reuse one instance', { timeout: TIMEOUT_MS }, async () => {
  const { backend, scheduler } = setup();
  const f = fnOf('f');
  const servers = [];
  for (let i = 0; i < 5; i++) servers.push(servedBy(await scheduler.run(f, inv())));
  assert.deepEqual(servers, ['sb1', 'sb1', 'sb1', 'sb1', 'sb1']);
  assert.equal(backend.created.length, 1);
  assert.deepEqual(basic(scheduler.stats()), { functions: 1, instances: { ...zeroInstances, idle: 1 }, queued: 0 });
  assert.deepEqual(backend.misuses, []);
});

test('pause_idle true: idle instances are paused, unpaused on reuse, and not paused when handed straight to a waiter', { timeout: TIMEOUT_MS }, async () => {
  const { backend, scheduler } = setup({ max_instances_per_function: 1, pause_idle: true });
  const f = fnOf('f');
  await scheduler.run(f, inv());
  const sb = backend.created[0];
  await backend.until(() => sb.state === 'paused');
  assert.equal(sb.pauses, 1);
  await scheduler.run(f, inv());
  assert.equal(sb.unpauses, 1);
  await backend.until(() => sb.pauses === 2);

  // Three at once on one instance: releases go straight to the next waiter.
  await Promise.all([scheduler.run(f, inv()), scheduler.run(f, inv()), scheduler.run(f, inv())]);
  await backend.until(() => sb.state === 'paused');
  assert.equal(sb.unpauses, 2, 'one unpause for the batch');
  assert.equal(sb.pauses, 3, 'one pause after the batch');
  assert.equal(backend.created.length, 1);
  assert.deepEqual(backend.misuses, []);
});

test('pause_idle false leaves idle instances running', { timeout: TIMEOUT_MS }, async () => {
  const { backend, scheduler } = setup({ pause_idle: false });
  const f = fnOf('f');
  await scheduler.run(f, inv());
  await scheduler.run(f, inv());
  assert.equal(backend.created[0].pauses, 0);
  assert.equal(backend.created[0].unpauses, 0);
  assert.equal(backend.created[0].state, 'running');
});

test('the most recently released idle instance is used first (LIFO)', { timeout: TIMEOUT_MS }, async () => {
  const { backend, scheduler } = setup();
  const f = fnOf('f');
  const a = scheduler.run(f, inv({ hold: true }));
  const b = scheduler.run(f, inv({ hold: true }));
  await backend.until(() => backend.inFlight === 2);
  backend.gate.open();
  await Promise.all([a, b]);
  const releasedLast = backend.finished[backend.finished.length - 1];
  assert.equal(servedBy(await scheduler.run(f, inv())), releasedLast);
  assert.equal(servedBy(await scheduler.run(f, inv())), releasedLast, 'the warm instance keeps being chosen');
  assert.equal(backend.created.length, 2);
});

test('N concurrent requests create at most max_instances_per_function instances and all complete', { timeout: TIMEOUT_MS }, async () => {
  const { backend, scheduler } = setup({ max_instances_per_function: 3 });
  const f = fnOf('f');
  const runs = Array.from({ length: 10 }, () => scheduler.run(f, inv({ hold: true })));
  await backend.until(() => backend.inFlight === 3);
  await flush();
  assert.equal(backend.created.length, 3);
  assert.deepEqual(basic(scheduler.stats()), { functions: 1, instances: { ...zeroInstances, busy: 3 }, queued: 7 });
  backend.gate.open();
  const outs = await Promise.all(runs);
  assert.ok(outs.every((o) => o.ok));
  assert.equal(backend.created.length, 3);
  assert.equal(backend.maxInFlightByFn.get('f'), 3);
  assert.deepEqual(backend.misuses, []);
});

test('a full queue refuses with QueueFullError carrying retry_after_s', { timeout: TIMEOUT_MS }, async () => {
  const { backend, scheduler } = setup({ max_instances_per_function: 1, queue_max: 2, retry_after_s: 7 });
  const f = fnOf('f');
  const accepted = [scheduler.run(f, inv({ hold: true })), scheduler.run(f, inv()), scheduler.run(f, inv())];
  await assert.rejects(scheduler.run(f, inv()), (err: unknown) => {
    assert.ok(err instanceof QueueFullError);
    assert.equal(err.functionName, 'f');
    assert.equal(err.retryAfterSeconds, 7);
    return true;
  });
  assert.equal(scheduler.stats().queued, 2);
  // Another function has its own queue.
  assert.ok((await scheduler.run(fnOf('g'), inv())).ok);
  backend.gate.open();
  assert.ok((await Promise.all(accepted)).every((o) => o.ok));
  assert.equal(scheduler.stats().queued, 0);
});

test('queue_max 0 refuses whenever no instance is free, and serves otherwise', { timeout: TIMEOUT_MS }, async () => {
  const { backend, scheduler } = setup({ max_instances_per_function: 1, queue_max: 0 });
  const f = fnOf('f');
  const first = scheduler.run(f, inv({ hold: true }));
  await assert.rejects(scheduler.run(f, inv()), QueueFullError);
  backend.gate.open();
  assert.ok((await first).ok);
  assert.ok((await scheduler.run(f, inv())).ok);
});

test('the worker-wide cap evicts the least recently used idle instance of another function', { timeout: TIMEOUT_MS }, async () => {
  const { backend, scheduler } = setup({ max_instances: 2 });
  const [a, b, c] = [fnOf('a'), fnOf('b'), fnOf('c')];
  assert.equal(servedBy(await scheduler.run(a, inv())), 'sb1');
  assert.equal(servedBy(await scheduler.run(b, inv())), 'sb2');
  assert.equal(servedBy(await scheduler.run(c, inv())), 'sb3');
  const [sbA, sbB] = backend.created;
  assert.match(sbA.destroyReason ?? '', /evicted/);
  assert.equal(sbB.destroyReason, undefined);
  await flush();
  assert.deepEqual(basic(scheduler.stats()), { functions: 2, instances: { ...zeroInstances, idle: 2 }, queued: 0 });
  // b was used after a, so a was the victim; now using b makes c the oldest.
  await scheduler.run(b, inv());
  await scheduler.run(a, inv());
  assert.match(backend.created[2].destroyReason ?? '', /evicted/, 'c was least recently used');
  assert.equal(sbB.destroyReason, undefined);
  assert.ok(backend.alive().length <= 2);
  assert.deepEqual(backend.misuses, []);
});

test('with the worker-wide cap full of busy instances, a request waits for one to be released', { timeout: TIMEOUT_MS }, async () => {
  const { backend, scheduler } = setup({ max_instances: 1 });
  const busyA = scheduler.run(fnOf('a'), inv({ hold: true }));
  await backend.until(() => backend.inFlight === 1);
  const b = scheduler.run(fnOf('b'), inv());
  await flush();
  assert.equal(scheduler.stats().queued, 1);
  assert.equal(backend.created.length, 1);
  backend.gate.open();
  assert.ok((await busyA).ok);
  assert.equal(servedBy(await b), 'sb2');
  assert.match(backend.created[0].destroyReason ?? '', /evicted/);
  assert.equal(backend.maxInFlight, 1);
});

test('a dead outcome (oom) drops the instance and the next request gets a new one', { timeout: TIMEOUT_MS }, async () => {
  const { backend, scheduler } = setup();
  const f = fnOf('f');
  assert.equal(servedBy(await scheduler.run(f, inv())), 'sb1');
  const out = await scheduler.run(f, inv({ fail: 'oom' }));
  assert.ok(!out.ok);
  assert.equal(out.failure.kind, 'oom');
  assert.match(backend.created[0].destroyReason ?? '', /oom/);
  assert.equal(servedBy(await scheduler.run(f, inv())), 'sb2');
  assert.equal(backend.created.length, 2);
});

test('a function exception keeps the instance', { timeout: TIMEOUT_MS }, async () => {
  const { backend, scheduler } = setup();
  const f = fnOf('f');
  const out = await scheduler.run(f, inv({ fail: 'exception' }));
  assert.ok(!out.ok);
  assert.equal(servedBy(await scheduler.run(f, inv())), 'sb1');
  assert.equal(backend.created.length, 1);
});

test('a dead instance with waiters: the next waiter gets a fresh instance', { timeout: TIMEOUT_MS }, async () => {
  const { backend, scheduler } = setup({ max_instances_per_function: 1 });
  const f = fnOf('f');
  const dying = scheduler.run(f, inv({ hold: true, fail: 'timeout' }));
  const waiting = scheduler.run(f, inv());
  backend.gate.open();
  const [first, second] = await Promise.all([dying, waiting]);
  assert.ok(!first.ok && first.failure.kind === 'timeout');
  assert.equal(servedBy(second), 'sb2');
  assert.deepEqual(backend.misuses, [], 'the dead sandbox was never invoked again');
});

test('a new version retires old instances: idle now, busy on release', { timeout: TIMEOUT_MS }, async () => {
  const { backend, scheduler } = setup();
  const v1 = fnOf('f', 'v1');
  const v2 = fnOf('f', 'v2');
  await scheduler.run(v1, inv()); // sb1, idle
  const busyOld = scheduler.run(v1, inv({ hold: true })); // sb1, busy
  await backend.until(() => backend.inFlight === 1);
  assert.equal(servedBy(await scheduler.run(v1, inv())), 'sb2'); // sb2, idle
  const fresh = await scheduler.run(v2, inv());
  assert.equal(servedBy(fresh), 'sb3');
  assert.equal(JSON.parse((fresh as { body: Buffer }).body.toString()).version, 'v2');
  const [sb1, sb2, sb3] = backend.created;
  assert.match(sb2.destroyReason ?? '', /retired/);
  assert.equal(sb1.destroyReason, undefined, 'the busy old instance finishes its request');
  backend.gate.open();
  assert.equal(servedBy(await busyOld), 'sb1');
  assert.match(sb1.destroyReason ?? '', /retired/);
  assert.equal(servedBy(await scheduler.run(v2, inv())), 'sb3');
  assert.equal(sb3.destroyReason, undefined);
  await flush();
  assert.deepEqual(basic(scheduler.stats()), { functions: 1, instances: { ...zeroInstances, idle: 1 }, queued: 0 });
});

test('retire(name, keepVersion) keeps that version; retire(name) removes all and forgets the pool', { timeout: TIMEOUT_MS }, async () => {
  const { backend, scheduler } = setup();
  await scheduler.run(fnOf('f', 'v1'), inv());
  await scheduler.retire('f', 'v1');
  assert.equal(backend.created[0].destroyReason, undefined);
  await scheduler.retire('f', 'v2');
  assert.match(backend.created[0].destroyReason ?? '', /retired/);
  await flush();
  assert.equal(scheduler.stats().functions, 0);
  await scheduler.run(fnOf('f', 'v2'), inv());
  await scheduler.retire('f');
  await flush();
  assert.equal(backend.alive().length, 0);
  assert.deepEqual(basic(scheduler.stats()), { functions: 0, instances: zeroInstances, queued: 0 });
  await scheduler.retire('never-seen');
});

test('reuse-sandbox false destroys the instance after each request', { timeout: TIMEOUT_MS }, async () => {
  const { backend, scheduler } = setup();
  const f = fnOf('f', 'v1', false);
  const servers = [];
  for (let i = 0; i < 3; i++) servers.push(servedBy(await scheduler.run(f, inv())));
  assert.deepEqual(servers, ['sb1', 'sb2', 'sb3']);
  await backend.until(() => backend.destroyed.length === 3);
  assert.ok(backend.created.every((s) => /reuse-sandbox/.test(s.destroyReason ?? '') && s.pauses === 0));
  await flush();
  assert.deepEqual(basic(scheduler.stats()), { functions: 0, instances: zeroInstances, queued: 0 });
});

test('a create failure rejects only that request, the next waiter tries again, and no cap count leaks', { timeout: TIMEOUT_MS }, async () => {
  const { backend, scheduler } = setup({ max_instances_per_function: 1, max_instances: 1 });
  const f = fnOf('f');
  backend.failCreates = 1;
  const results = await Promise.allSettled([scheduler.run(f, inv()), scheduler.run(f, inv())]);
  assert.equal(results[0].status, 'rejected');
  assert.match(String((results[0] as PromiseRejectedResult).reason), /cannot create/);
  assert.equal(results[1].status, 'fulfilled');
  await scheduler.retire('f');
  await flush();

  backend.failCreates = 1;
  await assert.rejects(scheduler.run(f, inv()), /cannot create/);
  assert.deepEqual(basic(scheduler.stats()), { functions: 0, instances: zeroInstances, queued: 0 });
  // With both caps at 1, this only works if the failed start gave its slot back.
  assert.ok((await scheduler.run(fnOf('g'), inv())).ok);
});

test('drain refuses new work, waits for accepted and queued work, then destroys every instance', { timeout: TIMEOUT_MS }, async () => {
  const { backend, scheduler } = setup({ max_instances_per_function: 2 });
  const f = fnOf('f');
  await scheduler.run(fnOf('idle-one'), inv());
  const accepted = [scheduler.run(f, inv({ hold: true })), scheduler.run(f, inv({ hold: true })), scheduler.run(f, inv())];
  await backend.until(() => backend.inFlight === 2);
  let drained = false;
  const draining = scheduler.drain().then(() => (drained = true));
  await assert.rejects(scheduler.run(f, inv()), (err: unknown) => err instanceof SchedulerClosedError && /shutting down/.test(err.message));
  await flush();
  assert.equal(drained, false, 'drain waits for work in flight');
  assert.equal(scheduler.stats().queued, 1);
  backend.gate.open();
  const outs = await Promise.all(accepted);
  assert.ok(outs.every((o) => o.ok), 'accepted and queued requests complete');
  await draining;
  assert.equal(backend.alive().length, 0);
  assert.equal(backend.destroyed.length, backend.created.length);
  assert.deepEqual(basic(scheduler.stats()), { functions: 0, instances: zeroInstances, queued: 0 });
  assert.equal(scheduler.drain(), scheduler.drain(), 'drain is idempotent');
  assert.deepEqual(backend.misuses, []);
});

test('many functions and requests under tight caps: every request completes, caps hold, nothing leaks', { timeout: TIMEOUT_MS }, async () => {
  const { backend, scheduler } = setup({ max_instances: 3, max_instances_per_function: 2, queue_max: 1000 });
  const fns = ['a', 'b', 'c', 'd', 'e'].map((n) => fnOf(n));
  let live = 0;
  let maxLive = 0;
  backend.on('change', () => {
    live = backend.alive().length;
    maxLive = Math.max(maxLive, live);
  });
  const runs = [];
  for (let i = 0; i < 60; i++) runs.push(scheduler.run(fns[i % fns.length], inv(i % 7 === 0 ? { fail: 'crashed' } : {})));
  const outs = await Promise.all(runs);
  assert.equal(outs.filter((o) => o.ok).length, 60 - Math.ceil(60 / 7));
  assert.ok(maxLive <= 3, `at most 3 live sandboxes, saw ${maxLive}`);
  for (const f of fns) assert.ok((backend.maxInFlightByFn.get(f.name) ?? 0) <= 2);
  await scheduler.drain();
  assert.equal(backend.alive().length, 0);
  assert.deepEqual(backend.misuses, []);
});

test('the manifest: names, points and a config schema whose defaults are the documented ones', { timeout: TIMEOUT_MS }, () => {
  assert.equal(plugin.name, 'scheduler-fifo');
  assert.equal(plugin.coreApi, '^1.0.0');
  const ajv = new Ajv({ useDefaults: true, strict: false });
  const section: Record<string, unknown> = {};
  assert.ok(ajv.validate(plugin.configSchema!, section));
  assert.deepEqual(section, { ...FIFO_DEFAULTS });
  assert.equal(ajv.validate(fifoConfigSchema, { queue_mx: 3 }), false, 'unknown keys are errors');
  assert.equal(ajv.validate(fifoConfigSchema, { max_instances: 0 }), false);
});

test('the plugin wires FifoScheduler through DI with its config, logger and the bound backend', { timeout: TIMEOUT_MS }, async () => {
  const backend = new FakeSandboxBackend();
  const root = container.createChildContainer();
  root.registerInstance(SandboxBackendPoint.token, backend);
  const child = root.createChildContainer();
  child.registerInstance(Tokens.PluginConfig, { ...FIFO_DEFAULTS, max_instances_per_function: 1 });
  child.registerInstance(Tokens.Logger, silent);
  let provided: unknown;
  await plugin.register({
    name: plugin.name,
    config: {},
    logger: silent,
    container: child,
    provide: (point, impl) => {
      assert.equal(point, SchedulerPoint);
      provided = child.resolve(impl as typeof FifoScheduler);
    },
    resolve: (token) => child.resolve(token),
  });
  assert.ok(provided instanceof FifoScheduler);
  const scheduler = provided;
  const f = fnOf('f');
  const runs = [scheduler.run(f, inv()), scheduler.run(f, inv())];
  assert.ok((await Promise.all(runs)).every((o) => o.ok));
  assert.equal(backend.created.length, 1, 'the configured per-function cap of 1 applies');
  root.registerInstance(SchedulerPoint.token, scheduler);
  await plugin.stop!({ name: plugin.name, config: {}, logger: silent, container: child, provide: () => {}, resolve: (token) => child.resolve(token) });
  assert.equal(backend.alive().length, 0, 'stop drains');
  await assert.rejects(scheduler.run(f, inv()), SchedulerClosedError);
});

function withMem(fn: LoadedFunction, memMb: number): LoadedFunction {
  return { ...fn, limits: { ...fn.limits, memMb } };
}

test('the memory pool evicts idle instances, paused ones first, until the new instance fits', { timeout: TIMEOUT_MS }, async () => {
  const { backend, scheduler } = setup({ mem_pool_mb: 128, pause_idle: false });
  const [a, b] = [fnOf('a'), fnOf('b')];
  await scheduler.run(a, inv()); // sb1, 64 MiB
  await scheduler.run(b, inv()); // sb2, 64 MiB: the pool is full
  // b's instance is paused by a policy, so it goes first although a is older.
  assert.equal(await scheduler.evictIdle(backend.created[1].id, 'pause', 'idle'), true);
  assert.equal(scheduler.stats().paused, 1);
  assert.equal(servedBy(await scheduler.run(fnOf('c'), inv())), 'sb3');
  assert.match(backend.created[1].destroyReason ?? '', /memory pool full/);
  assert.equal(backend.created[0].destroyReason, undefined);
  // A 128 MiB function needs both remaining slots: a and c are evicted.
  assert.equal(servedBy(await scheduler.run(withMem(fnOf('d'), 128), inv())), 'sb4');
  await flush();
  const s = scheduler.stats();
  assert.deepEqual(s.evictions, { mem_pool: 3 });
  assert.deepEqual(s.memoryPool, { usedMb: 128, limitMb: 128 });
  assert.deepEqual(backend.alive().map((x) => x.id), ['sb4']);
  assert.deepEqual(backend.misuses, []);
});

test('a function asking for more memory than the whole pool is refused with an explanation', { timeout: TIMEOUT_MS }, async () => {
  const { scheduler } = setup({ mem_pool_mb: 100 });
  await assert.rejects(scheduler.run(withMem(fnOf('big'), 200), inv()), /asks for 200 MiB of memory, more than this worker's whole memory pool of 100 MiB.*mem_mb/);
  assert.deepEqual(basic(scheduler.stats()), { functions: 0, instances: zeroInstances, queued: 0 });
});

test('idleInstances and evictIdle let a policy pause and destroy idle instances, never busy ones', { timeout: TIMEOUT_MS }, async () => {
  const { backend, scheduler } = setup({ pause_idle: false });
  await scheduler.run(fnOf('a'), inv());
  await scheduler.run(fnOf('b'), inv());
  const held = scheduler.run(fnOf('c'), inv({ hold: true }));
  await backend.until(() => backend.inFlight === 1);
  const idle = scheduler.idleInstances();
  assert.deepEqual(idle.map((i) => [i.function, i.paused, i.memMb]), [['a', false, 64], ['b', false, 64]]);
  assert.ok(idle[0].idleSince <= idle[1].idleSince);
  assert.equal(await scheduler.evictIdle('sb1', 'pause', 'idle'), true);
  assert.equal(backend.created[0].state, 'paused');
  assert.equal(await scheduler.evictIdle('sb1', 'destroy', 'idle'), true);
  assert.equal(await scheduler.evictIdle('sb3', 'destroy', 'idle'), false, 'busy: not idle');
  assert.equal(await scheduler.evictIdle('nope', 'destroy', 'idle'), false);
  assert.deepEqual(scheduler.stats().evictions, { idle: 1 });
  assert.equal(scheduler.stats().functions, 2, "a's pool is gone with its last instance");
  backend.gate.open();
  assert.ok((await held).ok);
  // The paused-then-woken path still works: pause b by policy, then run it.
  await scheduler.evictIdle('sb2', 'pause', 'idle');
  assert.equal(servedBy(await scheduler.run(fnOf('b'), inv())), 'sb2');
  assert.deepEqual(backend.misuses, []);
});

test('an idle instance that died unseen is dropped, and the request gets a new instance', { timeout: TIMEOUT_MS }, async () => {
  const { backend, scheduler } = setup();
  const f = fnOf('f');
  assert.equal(servedBy(await scheduler.run(f, inv())), 'sb1');
  backend.created[0].state = 'dead'; // its process exited while idle; nothing told the scheduler
  assert.equal(servedBy(await scheduler.run(f, inv())), 'sb2');
  assert.equal(backend.created.length, 2);
  assert.deepEqual(backend.misuses, []);
});
