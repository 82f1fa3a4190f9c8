import 'reflect-metadata';
import semver from 'semver';
import type { DependencyContainer } from 'tsyringe';
import { CORE_API_VERSION } from '../api-version';
import { EXTENSION_POINTS } from '../extension-points';
import { Tokens } from '../di/tokens';
import { ConfigError, validate } from '../config/schema-validator';
import { CORE_CONFIG_KEYS, type WorkerConfig } from '../config/worker-config';
import type { Logger } from '../log/logger';
import { Metrics } from '../metrics/metrics';
import type { ExtensionPoint, Probeable } from './extension-point';
import { PluginError } from './plugin-error';
import { loadPluginModule } from './plugin-loader';
import type { PluginContext, PluginManifest, ProviderClass } from './plugin';

interface Provision {
  plugin: string;
  point: ExtensionPoint<any>;
  resolve: () => unknown;
}

interface LoadedPlugin {
  manifest: PluginManifest;
  ctx: PluginContext;
}

/**
 * The microkernel: loads the plugins the config names, checks their API
 * range, requirements and config sections, registers them in dependency
 * order, binds each extension point according to its combine kind, and
 * starts and stops them.
 */
export class Kernel {
  private plugins: LoadedPlugin[] = [];
  private readonly provisions: Provision[] = [];
  private started: LoadedPlugin[] = [];

  constructor(
    private readonly container: DependencyContainer,
    private readonly config: WorkerConfig,
    private readonly logger: Logger,
  ) {}

  /** Names of the loaded plugins in dependency order. */
  get pluginNames(): string[] {
    return this.plugins.map((p) => p.manifest.name);
  }

  async boot(): Promise<void> {
    // A core service every plugin may use; embedders (tests) that did not provide one get their own.
    if (!this.container.isRegistered(Tokens.Metrics)) this.container.registerInstance(Tokens.Metrics, new Metrics());
    const manifests = await Promise.all(this.config.plugins.map((ref) => loadPluginModule(ref)));
    this.checkManifests(manifests);
    this.checkTopLevelKeys(manifests);
    for (const m of orderByDependencies(manifests)) this.plugins.push({ manifest: m, ctx: this.contextFor(m) });
    for (const p of this.plugins) await this.guard(p.manifest.name, 'register', () => p.manifest.register(p.ctx));
    await this.bindPoints();
    for (const p of this.plugins) {
      await this.guard(p.manifest.name, 'start', async () => p.manifest.start?.(p.ctx));
      this.started.push(p);
    }
  }

  /** Stops started plugins in reverse order; one failing does not stop the others. */
  async shutdown(): Promise<void> {
    for (const p of this.started.reverse()) {
      try {
        await p.manifest.stop?.(p.ctx);
      } catch (e) {
        this.logger.error({ plugin: p.manifest.name, err: e }, 'plugin failed to stop cleanly');
      }
    }
    this.started = [];
  }

  private checkManifests(manifests: PluginManifest[]): void {
    const seen = new Set<string>();
    for (const m of manifests) {
      if (seen.has(m.name)) throw new PluginError(m.name, 'listed twice in plugins');
      seen.add(m.name);
      if (!semver.validRange(m.coreApi) || !semver.satisfies(CORE_API_VERSION, m.coreApi)) {
        throw new PluginError(m.name, `supports core API ${m.coreApi}, but this worker's core API is ${CORE_API_VERSION}`, 'upgrade the plugin or pick a matching OL Kernel version');
      }
      for (const need of m.requires) {
        if (!need.optional && !manifests.some((o) => o.provides.includes(need))) {
          throw new PluginError(m.name, `requires ${need.id}, which no loaded plugin provides`, `add a plugin that provides ${need.id} to plugins:`);
        }
      }
      const section = this.config[m.name] ?? {};
      this.config[m.name] = section;
      validate({ type: 'object', additionalProperties: false, properties: {}, ...m.configSchema }, section, `config of plugin "${m.name}"`, m.name);
    }
  }

  private checkTopLevelKeys(manifests: PluginManifest[]): void {
    const names = new Set(manifests.map((m) => m.name));
    const unknown = Object.keys(this.config).filter((k) => !CORE_CONFIG_KEYS.has(k) && !names.has(k));
    if (unknown.length) {
      throw new ConfigError('config', unknown.map((k) => `${k}: unknown key (not a core key and not the name of a loaded plugin)`));
    }
  }

  private contextFor(m: PluginManifest): PluginContext {
    const child = this.container.createChildContainer();
    const logger = this.logger.child({ plugin: m.name });
    const config = this.config[m.name];
    child.registerInstance(Tokens.PluginConfig, config);
    child.registerInstance(Tokens.Logger, logger);
    const provisions = this.provisions;
    return {
      name: m.name,
      config,
      logger,
      container: child,
      provide<T>(point: ExtensionPoint<T>, impl: ProviderClass<T> | { useValue: T }) {
        if (!m.provides.includes(point)) throw new PluginError(m.name, `provides ${point.id} but does not declare it in provides:`);
        let instance: T | undefined;
        const resolve = () => (instance ??= 'useValue' in impl ? impl.useValue : child.resolve(impl as ProviderClass<T>));
        provisions.push({ plugin: m.name, point, resolve });
      },
      resolve: (token) => child.resolve(token),
    };
  }

  /** Bind each point once all its providers' own requirements are bound (plugin order guarantees that). */
  private async bindPoints(): Promise<void> {
    const bound = new Set<ExtensionPoint<any>>();
    // Optional composable points nobody provides still resolve, to a composite of none (a no-op).
    const wanted = new Set([...EXTENSION_POINTS, ...this.plugins.flatMap((p) => p.manifest.requires)]);
    for (const point of wanted) {
      if (point.optional && point.compose && !this.provisions.some((x) => x.point === point)) {
        this.container.registerInstance(point.token, point.compose([]));
        bound.add(point);
      }
    }
    for (const [i, p] of this.plugins.entries()) {
      const ready = new Set(this.plugins.slice(0, i + 1).map((x) => x.manifest.name));
      for (const point of p.manifest.provides) {
        const providers = this.provisions.filter((x) => x.point === point);
        if (bound.has(point) || !providers.every((x) => ready.has(x.plugin))) continue;
        bound.add(point);
        this.container.registerInstance(point.token, await this.combine(point, providers));
      }
    }
  }

  private async combine(point: ExtensionPoint<any>, providers: Provision[]): Promise<unknown> {
    switch (point.combine) {
      case 'exclusive':
        return this.pickExclusive(point, providers).resolve();
      case 'first-available':
        for (const p of providers) {
          const impl = p.resolve() as Probeable;
          if (await impl.probe()) {
            this.logger.info({ point: point.id, plugin: p.plugin }, 'extension point bound');
            return impl;
          }
        }
        throw new PluginError(providers.map((p) => p.plugin).join(', '), `none of the providers of ${point.id} works on this host`);
      default:
        return point.compose!(providers.map((p) => p.resolve()));
    }
  }

  private pickExclusive(point: ExtensionPoint<any>, providers: Provision[]): Provision {
    if (providers.length === 1) return providers[0];
    const chosen = this.config.select[point.id];
    const names = providers.map((p) => p.plugin).join(', ');
    const match = providers.find((p) => p.plugin === chosen);
    if (!match) throw new ConfigError('config', [`select.${point.id}: several plugins provide ${point.id} (${names}); set select.${point.id} to one of them`]);
    return match;
  }

  private async guard(plugin: string, phase: string, fn: () => unknown): Promise<void> {
    try {
      await fn();
    } catch (e) {
      if (e instanceof PluginError || e instanceof ConfigError) throw e;
      throw new PluginError(plugin, `${phase} failed: ${(e as Error).message}`);
    }
  }
}

/** Topological order (providers before the plugins that require them), stable with respect to config order. */
export function orderByDependencies(manifests: PluginManifest[]): PluginManifest[] {
  const ordered: PluginManifest[] = [];
  const state = new Map<PluginManifest, 'visiting' | 'done'>();
  const visit = (m: PluginManifest, chain: string[]) => {
    if (state.get(m) === 'done') return;
    if (state.get(m) === 'visiting') throw new PluginError(m.name, `dependency cycle: ${[...chain, m.name].join(' -> ')}`);
    state.set(m, 'visiting');
    for (const need of m.requires) {
      for (const dep of manifests.filter((o) => o !== m && o.provides.includes(need))) visit(dep, [...chain, m.name]);
    }
    state.set(m, 'done');
    ordered.push(m);
  };
  for (const m of manifests) visit(m, []);
  return ordered;
}
