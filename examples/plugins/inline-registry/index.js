// An example third-party OL Kernel plugin, written against the public API of
// `ol-kernel` only. It provides a FunctionRegistry (a `chain` extension point:
// the worker asks registries in order, the first that knows a name serves it)
// whose functions are written inline in the worker config:
//
//   plugins: [..., ./path/to/inline-registry]
//   inline-registry:
//     functions:
//       greet: |
//         def f(event):
//             return "hi " + event["name"]
//
// Plain JavaScript, no build step; see docs/plugins.md for the walk-through.
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { definePlugin, FunctionRegistryPoint, Tokens } = require('ol-kernel');

class InlineRegistry {
  constructor(config, paths) {
    this.dir = path.join(paths.root, 'inline-registry');
    this.functions = new Map();
    for (const [name, source] of Object.entries(config.functions)) {
      const version = crypto.createHash('sha256').update(source).digest('hex').slice(0, 16);
      const codeDir = path.join(this.dir, name);
      fs.mkdirSync(codeDir, { recursive: true });
      fs.writeFileSync(path.join(codeDir, 'f.py'), source);
      this.functions.set(name, { name, version, codeDir });
    }
  }

  get writable() {
    return false;
  }

  async lookup(name) {
    return this.functions.get(name) ?? null;
  }

  async list() {
    return [...this.functions.keys()];
  }
}

module.exports = definePlugin({
  name: 'inline-registry',
  version: '1.0.0',
  coreApi: '^1.0.0',
  provides: [FunctionRegistryPoint],
  requires: [],
  configSchema: {
    properties: {
      functions: { type: 'object', additionalProperties: { type: 'string' }, default: {} },
    },
  },
  register(ctx) {
    // Plain JS has no decorators: resolve the core services and hand over an instance.
    ctx.provide(FunctionRegistryPoint, { useValue: new InlineRegistry(ctx.config, ctx.resolve(Tokens.WorkerPaths)) });
  },
  stop(ctx) {
    fs.rmSync(path.join(ctx.resolve(Tokens.WorkerPaths).root, 'inline-registry'), { recursive: true, force: true });
  },
});
