import 'reflect-metadata';
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { container } from 'tsyringe';
import { Kernel, orderByDependencies } from '../../core/plugin/kernel';
import { Tokens } from '../../core/di/tokens';
import { validate } from '../../core/config/schema-validator';
import { workerConfigSchema, type WorkerConfig } from '../../core/config/worker-config';
import { workerPaths } from '../../core/lifecycle/worker-paths';
import { DEFAULT_CONFIG_FILE, loadWorkerConfig } from '../../core/config/load-config';
import { REPO, startWorker } from '../helpers/worker-fixture';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'olk-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Write a throw-away plugin module that uses the public API through `require('ol-kernel')`. */
function writePlugin(name: string, body: string): string {
  const file = path.join(tmp, `${name}.js`);
  fs.writeFileSync(file, `const ol = require(${JSON.stringify(REPO)});\nmodule.exports = ol.definePlugin(${body});\n`);
  return file;
}

async function boot(config: Record<string, unknown>): Promise<Kernel> {
  const c = { ...config } as WorkerConfig;
  validate(workerConfigSchema, c, 'test config');
  const child = container.createChildContainer();
  child.registerInstance(Tokens.WorkerPaths, workerPaths(path.join(tmp, 'w')));
  child.registerInstance(Tokens.WorkerConfig, c);
  const kernel = new Kernel(child, c, pino({ level: 'silent' }));
  await kernel.boot();
  return kernel;
}

test('an unknown plugin is named, with the built-in ones listed', async () => {
  await assert.rejects(boot({ plugins: ['no-such-plugin'] }), /plugin "no-such-plugin": unknown plugin \(built-in plugins: .*sock/);
});

test('a plugin for another core API version is refused', async () => {
  const p = writePlugin('old', `{ name: 'old', version: '1.0.0', coreApi: '^0.3.0', provides: [], requires: [], register() {} }`);
  await assert.rejects(boot({ plugins: [p] }), /plugin "old": supports core API \^0\.3\.0, but this worker's core API is 1\.0\.0/);
});

test('a missing requirement names the extension point', async () => {
  const p = writePlugin('needy', `{ name: 'needy', version: '1.0.0', coreApi: '^1.0.0', provides: [], requires: [ol.SandboxBackendPoint], register() {} }`);
  await assert.rejects(boot({ plugins: [p] }), /plugin "needy": requires SandboxBackend, which no loaded plugin provides/);
});

test('an invalid key in a plugin section is reported with its path', async () => {
  const p = writePlugin('conf', `{ name: 'conf', version: '1.0.0', coreApi: '^1.0.0', provides: [], requires: [], configSchema: { properties: { size: { type: 'integer' } } }, register() {} }`);
  await assert.rejects(boot({ plugins: [p], conf: { size: 'big' } }), /conf\.size: must be integer/);
  await assert.rejects(boot({ plugins: [p], conf: { sise: 1 } }), /conf\.sise: unknown key/);
});

test('an unknown top-level config key is an error', async () => {
  const p = writePlugin('plain', `{ name: 'plain', version: '1.0.0', coreApi: '^1.0.0', provides: [], requires: [], register() {} }`);
  await assert.rejects(boot({ plugins: [p], shceduler: {} }), /shceduler: unknown key/);
});

test('a module that is not a plugin says what is missing', async () => {
  const file = path.join(tmp, 'notplugin.js');
  fs.writeFileSync(file, 'module.exports = { hello: 1 };');
  await assert.rejects(boot({ plugins: [file] }), /not a plugin manifest \(missing name, version, coreApi, provides, requires, register\)/);
});

test('plugins start in dependency order and stop in reverse', async () => {
  const log = path.join(tmp, 'order.log');
  const point = `ol.FunctionRegistryPoint`;
  const consumer = writePlugin('consumer', `{ name: 'consumer', version: '1.0.0', coreApi: '^1.0.0', provides: [], requires: [${point}],
    register() {}, start() { require('fs').appendFileSync(${JSON.stringify(log)}, 'start consumer\\n') }, stop() { require('fs').appendFileSync(${JSON.stringify(log)}, 'stop consumer\\n') } }`);
  const provider = writePlugin('provider', `{ name: 'provider', version: '1.0.0', coreApi: '^1.0.0', provides: [${point}], requires: [],
    register(ctx) { ctx.provide(${point}, { useValue: { writable: false, lookup: async () => null, list: async () => ['x'] } }) },
    start() { require('fs').appendFileSync(${JSON.stringify(log)}, 'start provider\\n') }, stop() { require('fs').appendFileSync(${JSON.stringify(log)}, 'stop provider\\n') } }`);
  const kernel = await boot({ plugins: [consumer, provider] });
  assert.deepEqual(kernel.pluginNames, ['provider', 'consumer']);
  await kernel.shutdown();
  assert.equal(fs.readFileSync(log, 'utf8'), 'start provider\nstart consumer\nstop consumer\nstop provider\n');
});

test('a dependency cycle is reported', () => {
  const a: any = { name: 'a', provides: [{ id: 'A' }], requires: [] };
  const b: any = { name: 'b', provides: [{ id: 'B' }], requires: [] };
  a.requires.push(b.provides[0]);
  b.requires.push(a.provides[0]);
  assert.throws(() => orderByDependencies([a, b]), /dependency cycle: a -> b -> a/);
});

test('a third-party plugin is loaded from outside the source tree and serves a function', async () => {
  // Install the example as an operator would: its own directory, with ol-kernel as its (peer) dependency.
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'ol-thirdparty-'));
  const pluginDir = path.join(outside, 'inline-registry');
  fs.cpSync(path.join(REPO, 'examples/plugins/inline-registry'), pluginDir, { recursive: true });
  fs.mkdirSync(path.join(pluginDir, 'node_modules'));
  fs.symlinkSync(REPO, path.join(pluginDir, 'node_modules/ol-kernel'));
  // The default plugin list (every section of the default config needs its plugin), with this one before registry-dir.
  const plugins = loadWorkerConfig(DEFAULT_CONFIG_FILE).plugins.flatMap((p) => (p === 'registry-dir' ? [pluginDir, p] : [p]));
  const w = await startWorker([
    `plugins=[${plugins.join(', ')}]`,
    'inline-registry.functions.greet="def f(event):\\n    return \'hi \' + event[\'name\']\\n"',
  ]);
  try {
    const r = await w.run('greet', { name: 'plugin' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json, 'hi plugin');
    assert.equal((await w.run('echo', 2)).json, 2, 'later registries in the chain still serve');
  } finally {
    await w.stop();
    fs.rmSync(outside, { recursive: true, force: true });
  }
});
