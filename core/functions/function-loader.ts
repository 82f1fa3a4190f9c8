import { inject, injectable, type DependencyContainer } from 'tsyringe';
import { Tokens } from '../di/tokens';
import type { WorkerConfig } from '../config/worker-config';
import { ConfigError } from '../config/schema-validator';
import { FunctionRegistryPoint, type FunctionRegistry } from '../extension-points/function-registry';
import { FunctionValidatorPoint, type FunctionValidator } from '../extension-points/function-validator';
import { PackageResolverPoint, type PackageResolver } from '../extension-points/package-resolver';
import { HttpError } from '../http/http-error';
import type { LoadedFunction } from './function-config';
import { readFunctionConfig, resolveLimits } from './read-function-config';
import { resolveKnobs } from './function-knobs';

/**
 * Turns a function name into a LoadedFunction: asks the registry for the
 * current version, parses its config once per version, and applies the
 * operator's limits. Keeps only the latest version per name, so its memory
 * is bounded by the number of live functions.
 */
@injectable()
export class FunctionLoader {
  private readonly cache = new Map<string, LoadedFunction>();
  /** performance.now() of each cached function's last load: lets an eviction policy forget unused ones. */
  private readonly usedAt = new Map<string, number>();
  /** Called when a name enters the cache (an eviction policy arms its sweeper). */
  private readonly cachedListeners: Array<(name: string) => void> = [];
  /** Loads in progress per name, so concurrent requests resolve packages once per version. */
  private readonly pending = new Map<string, { version: string; loaded: Promise<LoadedFunction> }>();

  constructor(
    @inject(FunctionRegistryPoint.token) private readonly registry: FunctionRegistry,
    @inject(Tokens.WorkerConfig) private readonly config: WorkerConfig,
    @inject(Tokens.Container) private readonly container: DependencyContainer,
  ) {}

  async load(name: string): Promise<LoadedFunction> {
    const source = await this.registry.lookup(name);
    if (!source) {
      this.forget(name);
      throw new HttpError(404, 'function-not-found', `no function named "${name}"`, 'install it with `ol admin install <dir> -n NAME` or check the name');
    }
    const cached = this.cache.get(name);
    if (cached?.version === source.version) return this.touch(name, cached);
    const inFlight = this.pending.get(name);
    if (inFlight?.version === source.version) return inFlight.loaded;
    const loaded = this.loadVersion(source.name, source.version, source.codeDir, source.owner);
    this.pending.set(name, { version: source.version, loaded });
    try {
      const fn = await loaded;
      this.cache.set(name, fn);
      return this.touch(name, fn);
    } finally {
      // A failure is not cached: the next request tries again (e.g. once the index is reachable).
      if (this.pending.get(name)?.loaded === loaded) this.pending.delete(name);
    }
  }

  /** Parse the config, then have the PackageResolver install the packages it declares. */
  private async loadVersion(name: string, version: string, codeDir: string, owner?: string): Promise<LoadedFunction> {
    const fn = this.parse(name, version, codeDir, owner);
    if (!fn.config.packages.length) return fn;
    const resolver = this.container.resolve<PackageResolver>(PackageResolverPoint.token);
    try {
      fn.packages = await resolver.resolve(name, fn.config.packages, codeDir);
    } catch (e) {
      const status = (e as { status?: unknown }).status;
      if (typeof status !== 'number') throw e;
      const hint = (e as { hint?: string }).hint ?? 'fix the requirements (or ol.lock) and upload the function again';
      throw new HttpError(status, 'packages-unavailable', `function "${name}": ${(e as Error).message}`, hint);
    }
    return fn;
  }

  /** Validate a function directory without caching it (used when installing, with the upload's owner). */
  check(name: string, codeDir: string, owner?: string): LoadedFunction {
    return this.parse(name, 'check', codeDir, owner);
  }

  forget(name: string): void {
    this.cache.delete(name);
    this.usedAt.delete(name);
    // Its packages may now leave the store under the disk budget (live sandboxes still hold theirs).
    if (this.container.isRegistered(PackageResolverPoint.token, true)) this.container.resolve<PackageResolver>(PackageResolverPoint.token).forget?.(name);
  }

  /** How many functions have a parsed config cached. */
  get size(): number {
    return this.cache.size;
  }

  /** Forget every cached function not loaded since `cutoff` (a performance.now() time); returns their names. */
  forgetUnusedSince(cutoff: number): string[] {
    const gone: string[] = [];
    for (const [name, at] of this.usedAt) if (at < cutoff) gone.push(name);
    for (const name of gone) this.forget(name);
    return gone;
  }

  /** Be told whenever a function name enters the cache. */
  onCached(listener: (name: string) => void): void {
    this.cachedListeners.push(listener);
  }

  private touch(name: string, fn: LoadedFunction): LoadedFunction {
    const isNew = !this.usedAt.has(name);
    this.usedAt.set(name, performance.now());
    if (isNew) for (const l of this.cachedListeners) l(name);
    return fn;
  }

  /** The operator's policy plugins (FunctionValidator), e.g. secrets a role does not grant. */
  private checkPolicy(fn: LoadedFunction): void {
    const registered = this.container.isRegistered(FunctionValidatorPoint.token, true);
    // Without a plugin enforcing `network`, egress would silently be no network at all.
    if (fn.config.network === 'egress' && !(registered && this.container.resolve<FunctionValidator>(FunctionValidatorPoint.token).keys?.includes('network'))) {
      throw new ConfigError(`${fn.name}/ol.yaml`, ['network: egress: this worker has no plugin that gives functions outbound network access; ask the operator to enable one (netns-egress), or remove network:']);
    }
    if (!registered) return;
    const validator = this.container.resolve<FunctionValidator>(FunctionValidatorPoint.token);
    if (fn.config.secrets?.length && !validator.keys?.includes('secrets')) {
      throw new ConfigError(`${fn.name}/ol.yaml`, ['secrets: this worker has no plugin that grants secrets to functions; ask the operator to enable one (secret-grants), or remove secrets:']);
    }
    const problems = validator.check(fn);
    if (problems.length) throw new ConfigError(`${fn.name}/ol.yaml`, problems);
  }

  private parse(name: string, version: string, codeDir: string, owner?: string): LoadedFunction {
    try {
      const config = readFunctionConfig(codeDir, name);
      // The owner an upload recorded wins over ol.yaml's: the author cannot charge someone else (docs/accounting.md).
      if (owner) config.owner = owner;
      const limits = resolveLimits(config.limits, this.config.limits.defaults, this.config.limits.max, `${name}/ol.yaml`);
      limits.cgroup = resolveKnobs(config.cgroup ?? {}, this.config.cgroup ?? {}, 'function', this.container, `${name}/ol.yaml`);
      if (config.packages.length && !this.container.isRegistered(PackageResolverPoint.token, true)) {
        throw new ConfigError(name, [
          `needs packages (${config.packages.join(', ')}) but this worker has no package resolver plugin; ask the operator to enable one, or remove the requirements`,
        ]);
      }
      const fn: LoadedFunction = { name, version, codeDir, config, limits };
      this.checkPolicy(fn);
      return fn;
    } catch (e) {
      if (e instanceof ConfigError) throw new HttpError(422, 'bad-function-config', `function "${name}" cannot be loaded: ${e.message}`, 'fix the function and upload it again');
      throw e;
    }
  }
}
